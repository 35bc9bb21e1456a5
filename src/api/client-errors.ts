// Requests that Node's HTTP parser refuses before Express sees them (headers over the size limit, malformed
// HTTP) are answered as problem+json like every other error, instead of Node's bare status line.
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorKind } from '../http/errors.ts';
import { toProblem } from './problem.ts';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

function classify(code: string | undefined): { kind: ErrorKind; detail: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        kind: 'headers_too_large',
        detail:
          'The request headers exceed the server limit (16 KiB by default); send fewer or shorter headers',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { kind: 'request_timeout', detail: 'The request was not received in time' };
    default:
      return { kind: 'validation_failed', detail: 'The request is not valid HTTP/1.1' };
  }
}

export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing can be sent on a connection that is gone or already answering.
    if (
      error.code === 'ECONNRESET' ||
      !socket.writable ||
      (socket as { _httpMessage?: unknown })._httpMessage
    ) {
      socket.destroy();
      return;
    }
    const problem = toProblem(classify(error.code), '/');
    const body = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${problem.status} ${REASONS[problem.status] ?? 'Error'}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
