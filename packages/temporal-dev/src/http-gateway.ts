// The Temporal HTTP API (`--http-port`, as the official server's): every route of the google.api.http
// annotations in @temporalio/proto's service definitions (the /api/v1/… bindings and the older ones),
// dispatched to the same handlers as gRPC, in protobuf JSON (http-json.ts). Loaded only with --http-port.
// As grpc-gateway does: path variables and (for GET and DELETE) query parameters set request fields by
// their dotted path, a POST body is the whole request, and an error is {code, message, details} with the
// HTTP status of its gRPC code.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type * as protobuf from 'protobufjs';
import { RpcError } from './errors.ts';
import type { Handlers } from './grpc-server.ts';
import { fieldOf, fromJson, type JsonOptions, scalar, toJson } from './http-json.ts';
import type { Obj } from './model.ts';
import { methodTypes, serviceDef } from './proto.ts';

interface Route {
  verb: string;
  pattern: RegExp;
  /** Dotted field paths of the path variables, in order. */
  vars: string[];
  /** Literal characters: the more, the more specific (tried first). */
  weight: number;
  service: string;
  method: string;
}

interface HttpRule {
  get?: string;
  post?: string;
  put?: string;
  delete?: string;
  patch?: string;
  additional_bindings?: HttpRule | HttpRule[];
}

const VERBS = ['get', 'post', 'put', 'delete', 'patch'] as const;

/** grpc-gateway's runtime.HTTPStatusFromCode. */
const HTTP_STATUS = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

function compile(template: string): { pattern: RegExp; vars: string[]; weight: number } {
  const vars: string[] = [];
  let weight = 0;
  const source = template.replace(/\{([^}=]+)\}|[^{]+/g, (part, v: string | undefined) => {
    if (v) {
      vars.push(v);
      return '([^/]+)';
    }
    weight += part.length;
    return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  });
  return { pattern: new RegExp(`^${source}$`), vars, weight };
}

export function routesOf(services: string[]): Route[] {
  const routes: Route[] = [];
  for (const service of services) {
    for (const method of serviceDef(service).methodsArray) {
      const rule = (method.parsedOptions as Array<Record<string, HttpRule>> | undefined)?.find(
        (o) => o['(google.api.http)'],
      )?.['(google.api.http)'];
      const add = (r: HttpRule) => {
        for (const verb of VERBS) {
          const template = r[verb];
          if (template)
            routes.push({ verb: verb.toUpperCase(), ...compile(template), service, method: method.name });
        }
        const more = r.additional_bindings;
        for (const b of Array.isArray(more) ? more : more ? [more] : []) add(b);
      };
      if (rule) add(rule);
    }
  }
  return routes.sort((a, b) => b.weight - a.weight);
}

/** Sets a request field by its dotted proto path (e.g. execution.workflow_id) from text. */
function setPath(type: protobuf.Type, target: Obj, path: string, value: string, lenient = false): void {
  const names = path.split('.');
  let t = type;
  let o = target;
  for (let i = 0; i < names.length; i++) {
    const field = fieldOf(t, names[i]!);
    if (!field && lenient) return; // a query parameter naming no field (a cache buster…) is ignored
    if (!field) throw new RpcError(3, `unknown field "${path}" in ${type.fullName.slice(1)}`);
    field.resolve();
    if (i === names.length - 1) {
      const v = scalar(field, value);
      if (!field.repeated) o[field.name] = v;
      else if (Array.isArray(o[field.name])) o[field.name].push(v);
      else o[field.name] = [v];
      return;
    }
    o[field.name] ??= {};
    o = o[field.name];
    t = field.resolvedType as protobuf.Type;
  }
}

/** A stand-in for the grpc-js call the handlers read: no deadline, 'cancelled' when the client goes. */
function callFor(req: IncomingMessage, res: ServerResponse): Obj {
  const call = new EventEmitter() as EventEmitter & Obj;
  call.getDeadline = () => Number.POSITIVE_INFINITY;
  res.on('close', () => {
    if (!res.writableFinished) call.emit('cancelled');
  });
  void req;
  return call;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024) throw new RpcError(8, 'request body larger than 4 MB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface HttpGatewayLog {
  debug(msg: string): void;
  error(msg: string): void;
}

export function createHttpGateway(handlers: Record<string, Handlers>, log: HttpGatewayLog): Server {
  const routes = routesOf(Object.keys(handlers));
  const send = (res: ServerResponse, status: number, body: unknown, pretty: boolean) => {
    const text = JSON.stringify(body, null, pretty ? 2 : undefined);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const pretty = url.searchParams.has('pretty');
    const opts: JsonOptions = { shorthand: !url.searchParams.has('noPayloadShorthand') };
    const fail = (err: unknown) => {
      const code = err instanceof RpcError ? err.code : 13;
      const message = err instanceof Error ? err.message : String(err);
      if (!(err instanceof RpcError))
        log.error(`HTTP ${req.method} ${url.pathname}: ${(err as Error)?.stack ?? err}`);
      if (!res.headersSent) send(res, HTTP_STATUS[code] ?? 500, { code, message, details: [] }, pretty);
    };
    try {
      let route: Route | undefined;
      let match: RegExpExecArray | null = null;
      for (const r of routes) {
        if (r.verb !== req.method) continue;
        match = r.pattern.exec(url.pathname);
        if (match) {
          route = r;
          break;
        }
      }
      if (!route || !match) {
        const known = routes.some((r) => r.pattern.test(url.pathname));
        throw new RpcError(known ? 12 : 5, known ? 'Method Not Allowed' : 'Not Found');
      }
      const handler = handlers[route.service]![route.method];
      if (!handler)
        throw new RpcError(12, `${route.service}/${route.method} is not implemented by temporal-dev`);
      log.debug(`http ${req.method} ${url.pathname} → ${route.method}`);
      const [reqType, resType] = methodTypes(route.service, route.method);
      const text = await readBody(req);
      let obj: Obj = {};
      try {
        if (text.trim()) obj = fromJson(reqType, JSON.parse(text), opts) as Obj;
        if (req.method === 'GET' || req.method === 'DELETE') {
          for (const [k, v] of url.searchParams)
            if (k !== 'pretty' && k !== 'noPayloadShorthand') setPath(reqType, obj, k, v, true);
        }
        route.vars.forEach((path, i) => {
          setPath(reqType, obj, path, decodeURIComponent(match[i + 1]!));
        });
      } catch (err) {
        throw err instanceof RpcError ? err : new RpcError(3, (err as Error).message);
      }
      // Through the wire form, so the handler sees exactly what grpc-js would have decoded.
      const message = reqType.fromObject(obj);
      const request = reqType.toObject(reqType.decode(reqType.encode(message).finish()), {
        longs: Number,
        enums: Number,
        bytes: Buffer as unknown as StringConstructor,
      });
      const result = (await handler(request, callFor(req, res) as never)) ?? {};
      const decoded = resType.decode(resType.encode(result as Obj).finish());
      const plain = resType.toObject(decoded, { longs: String, enums: String, bytes: String });
      send(res, 200, toJson(resType, plain, opts), pretty);
    } catch (err) {
      fail(err);
    }
  });
}
