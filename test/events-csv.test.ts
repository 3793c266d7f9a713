import { describe, expect, it } from 'vitest';
import { csvCell } from '../src/platform/events/export.ts';

describe('CSV export cells', () => {
  it('quotes what needs quoting and leaves the rest alone', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell('alice')).toBe('alice');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(12.5)).toBe('12.5');
  });

  it('defuses texts a spreadsheet would run as formulas, but not numbers', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvCell('+cmd|/C calc')).toBe("'+cmd|/C calc");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
    // Numbers, and numeric text such as PostgreSQL's numeric columns, stay numbers.
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell('-0.00012')).toBe('-0.00012');
    expect(csvCell('+1')).toBe('+1');
  });
});
