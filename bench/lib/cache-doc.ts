/** The cache scenarios also keep their tables in docs/cache.md, between the same markers. */
import { fileURLToPath } from 'node:url';
import { writeSection } from './report.ts';

const CACHE_DOC = fileURLToPath(new URL('../../docs/cache.md', import.meta.url));

export async function alsoInCacheDoc(id: string, title: string, markdown: string): Promise<string> {
  await writeSection(id, `### ${title}\n\n${markdown}`, CACHE_DOC);
  return markdown;
}
