/**
 * A smaller MQTT parser per connection. mqtt-packet's parser keeps the bytes it has not parsed
 * yet in a `BufferListStream`: a whole duplex stream (readable and writable state, listeners,
 * bound callbacks) of which it uses only the list's own methods (append, consume, length,
 * readUInt8/16/32, slice, toString). bl's plain `BufferList` has exactly those. Swapped in when
 * the connection is handed to aedes, before a byte is read: about 0.8 KiB less per idle device.
 *
 * It reaches into aedes' and mqtt-packet's internals (`client._parser._list`), so it checks what
 * it finds and does nothing when it is not that; a test says whether it still applies.
 */
import { BufferList } from 'bl';

type ParserLike = { _list?: { length?: unknown; append?: unknown; consume?: unknown } };

/** Swaps the parser's empty stream for a plain list; true when it did. */
export function leanParser(client: unknown): boolean {
  const parser = (client as { _parser?: ParserLike } | null)?._parser;
  const list = parser?._list;
  if (!parser || !list || list instanceof BufferList || list.length !== 0) return false;
  if (typeof list.append !== 'function' || typeof list.consume !== 'function') return false;
  parser._list = new BufferList() as unknown as ParserLike['_list'];
  return true;
}
