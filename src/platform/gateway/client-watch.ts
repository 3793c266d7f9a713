/** Client disconnects, seen from a request handler. */
import type { FastifyReply } from 'fastify';

export class ClientGone extends Error {}

/**
 * Aborts when the client disconnects. Created on first use: a cache hit never needs it, and an
 * AbortController plus a socket listener per request is measurable on that path.
 */
export class ClientWatch {
  readonly #reply: FastifyReply;
  #controller: AbortController | undefined;
  #onClose: (() => void) | undefined;

  constructor(reply: FastifyReply) {
    this.#reply = reply;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      const raw = this.#reply.raw;
      this.#onClose = () => {
        if (!raw.writableFinished) controller.abort(new ClientGone('the client closed the connection'));
      };
      raw.on('close', this.#onClose);
      if (raw.destroyed && !raw.writableFinished)
        controller.abort(new ClientGone('the client closed the connection'));
      this.#controller = controller;
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#controller?.signal.aborted === true;
  }

  dispose(): void {
    if (this.#onClose !== undefined) this.#reply.raw.off('close', this.#onClose);
  }
}
