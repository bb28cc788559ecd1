import type { FastifyRequest } from 'fastify';

/**
 * Runs the server's work on a request whose body has arrived whole, with the
 * socket's idle timeout suspended meanwhile. That timeout is for clients that
 * stall (an upload that stops coming, a keep-alive left open); a phone waiting
 * for its answer sends nothing, and Node counted the wait as idle: a full upload
 * whose write outlasted it (200 MiB on a Raspberry Pi, or a wait for the
 * account's lock behind another device's upload) was stored, and its answer
 * lost with the dropped socket. The timeout is back before the answer is sent,
 * so a client that stops reading it is still dropped.
 */
export async function withClientWaiting<T>(request: FastifyRequest, work: () => Promise<T>): Promise<T> {
  const socket = request.raw.socket;
  const idleMs = request.server.server.timeout;
  if (!socket || idleMs <= 0) return work();
  socket.setTimeout(0);
  try {
    return await work();
  } finally {
    if (!socket.destroyed) socket.setTimeout(idleMs);
  }
}
