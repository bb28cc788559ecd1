/**
 * The limit a scenario is compared with: a bare node:http server that reads the
 * request body and answers fixed bytes, with no framework, auth, validation or
 * storage. Run as its own process, like the real server, so both compete with
 * the client for the same cores. Usage: node bare-server.js <body-file> <port>
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [bodyFile, portText] = process.argv.slice(2);
if (!bodyFile || !portText) {
  process.stderr.write('usage: bare-server <body-file> <port>\n');
  process.exit(2);
}
const body = readFileSync(bodyFile);
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };

const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});
server.listen(Number(portText), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
