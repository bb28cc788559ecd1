import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createGzip, type Gzip } from 'node:zlib';

const CHUNK = 1024 * 1024;

/**
 * Compresses a stream into `out` as consecutive gzip members, each at the level
 * asked for when it starts: the database compresses well, images not at all, and
 * zlib's own switch of level in mid-stream (params) kept the slow path. A file of
 * several members is plain gzip: gunzip, tar and Node read it as one stream.
 */
export class GzipMembers {
  private member: Gzip | undefined;
  private level: number;

  constructor(
    private readonly out: Writable,
    level: number,
  ) {
    this.level = level;
    out.on('drain', () => this.member?.resume());
    // A write error (a full disk) ends the member being written, so that consume() rejects.
    out.on('error', (err) => this.member?.destroy(err));
  }

  /** From the next byte on, a new member at this level. */
  setLevel(level: number): void {
    this.level = level;
  }

  /** Reads `source` to its end into the members, then ends `out` once all is written. */
  async consume(source: AsyncIterable<Buffer>): Promise<void> {
    let current = -1;
    for await (const chunk of source) {
      if (this.level !== current) {
        await this.endMember();
        current = this.level;
        this.member = createGzip({ level: current, chunkSize: CHUNK });
        const member = this.member;
        member.on('data', (data: Buffer) => {
          if (!this.out.write(data)) member.pause();
        });
      }
      if (!this.member!.write(chunk)) await once(this.member!, 'drain');
    }
    await this.endMember();
    this.out.end();
    await once(this.out, 'finish');
  }

  private async endMember(): Promise<void> {
    const member = this.member;
    if (!member) return;
    this.member = undefined;
    member.end();
    await once(member, 'end');
  }
}
