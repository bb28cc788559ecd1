import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Bytes received on the wire for the body (compressed if the server compressed). */
  bytes: number;
  body: Buffer | undefined;
  /** From sending the request to the last byte of the answer. */
  ms: number;
}

export interface SendOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: Buffer | string;
  /** Keep the answer's bytes; otherwise they are only counted. */
  keepBody?: boolean;
}

/** A keep-alive agent per simulated client, as an app keeps its connection open. */
export function clientAgent(maxSockets = 1): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets });
}

/**
 * One request over node:http, the same client against the server and its bare
 * baseline, so the client's own cost cancels out of the ratio.
 */
export function send(agent: http.Agent, url: string, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const headers: http.OutgoingHttpHeaders = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    const req = http.request(url, { method: options.method ?? 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (options.keepBody) chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes,
          body: options.keepBody ? Buffer.concat(chunks) : undefined,
          ms: Number(process.hrtime.bigint() - start) / 1e6,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
