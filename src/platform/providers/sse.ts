/** Server-sent events from a byte stream: yields each event's `data` (multi-line data joined) and name. */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

export async function* readSse(body: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    buffer = buffer.replace(/\r\n?/g, '\n');
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseBlock(block);
      if (event !== undefined) yield event;
      end = buffer.indexOf('\n\n');
    }
  }
  const last = parseBlock(buffer);
  if (last !== undefined) yield last;
}

function parseBlock(block: string): SseEvent | undefined {
  let event: string | undefined;
  let data: string[] | undefined;
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      data ??= [];
      data.push(value);
    } else if (field === 'event') event = value;
  }
  return data === undefined ? undefined : { event, data: data.join('\n') };
}
