import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** Raw bytes of one gzip member: large enough that the members' headers and fresh dictionaries cost nothing measurable. */
const MEMBER_BYTES = 1024 * 1024;
/** Members compressed at once: libuv's pool has four threads; more would only hold more raw bytes in memory. */
const IN_FLIGHT = 4;

/**
 * Compresses a stream of bytes as consecutive gzip members, several at once on
 * libuv's pool, while the next ones are read. A single zlib stream compresses one
 * chunk at a time and waits for the main thread between chunks; members are
 * independent, so a large history snapshot takes a fraction of the time on a
 * machine with more than one core. Several members are plain gzip: gunzip and
 * Node read them as one stream (backups are written the same way).
 */
export async function gzipInMembers(chunks: AsyncIterable<Buffer>, level: number): Promise<{ gzip: Buffer; rawBytes: number }> {
  const members: Promise<Buffer>[] = [];
  let awaited = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let rawBytes = 0;
  const start = async (): Promise<void> => {
    const raw = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const member = gzipAsync(raw, { level });
    // Handled now, thrown by Promise.all below: a member failing while others are awaited is no unhandled rejection.
    member.catch(() => undefined);
    members.push(member);
    // Bounded: a member finished before another starts, so only IN_FLIGHT raw members are held at once.
    if (members.length - awaited > IN_FLIGHT) await members[awaited++];
  };
  for await (const chunk of chunks) {
    rawBytes += chunk.length;
    // A large chunk is a member of its own, not copied into one with the small ones before it.
    if (chunk.length >= MEMBER_BYTES / 4 && pendingBytes > 0) await start();
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= MEMBER_BYTES / 4) await start();
  }
  if (pendingBytes > 0 || members.length === 0) await start();
  return { gzip: Buffer.concat(await Promise.all(members)), rawBytes };
}
