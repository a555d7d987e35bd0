/** Errors from talking to Glance. They carry the HTTP status, the image id and Glance's own message; never the token. */

export class GlanceError extends Error {
  override name = "GlanceError";
  /** HTTP status Glance answered with; undefined for transport errors (see `code`). */
  readonly status: number | undefined;
  readonly imageId: string | undefined;
  /** Glance's explanation (from its JSON or HTML error body), or the transport error text. */
  readonly glanceMessage: string;
  /** Transport error code (ECONNREFUSED, ETIMEDOUT, ...) or a client-side reason such as "image_not_active". */
  readonly code: string | undefined;
  /** What the client was doing, e.g. "GET image". */
  readonly operation: string;

  constructor(args: { operation: string; status?: number; imageId?: string; glanceMessage: string; code?: string }) {
    const what = args.imageId ? `${args.operation} ${args.imageId}` : args.operation;
    const how = args.status !== undefined ? `HTTP ${args.status}` : (args.code ?? "error");
    super(`Glance ${what} failed: ${how}: ${args.glanceMessage}`);
    this.status = args.status;
    this.imageId = args.imageId;
    this.glanceMessage = args.glanceMessage;
    this.code = args.code;
    this.operation = args.operation;
  }
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const n = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(n) ? String.fromCodePoint(n) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Plain text of an HTML fragment: Glance's webob error pages put the message after <h1>, ending in <br /><br />. */
function htmlText(html: string): string {
  const body = /<\/h1>([\s\S]*?)<\/body>/i.exec(html)?.[1] ?? html;
  return decodeEntities(body.replace(/<br\s*\/?>/gi, "\n").replace(/<[^>]*>/g, ""));
}

/**
 * Glance's message from an error body. With `Accept: application/json` webob answers
 * {"message": "...<br /><br />", "code": "404 Not Found", "title": "Not Found"}; to Accept: text/html or * / * an
 * HTML page (message after <h1>); with no Accept header plain text "404 Not Found\n\n<message>\n\n".
 */
export function parseGlanceMessage(body: string): string {
  let text = body;
  try {
    const j = JSON.parse(body) as { message?: unknown; title?: unknown; error?: { message?: unknown } };
    const m = j.message ?? j.error?.message ?? j.title;
    if (typeof m === "string") text = m;
  } catch {
    /* not JSON */
  }
  if (/<[a-z/][^>]*>/i.test(text)) text = htmlText(text);
  else text = text.replace(/^\s*\d{3} [^\n]*\n\s*\n/, "");
  return text.replace(/\s+/g, " ").trim().slice(0, 2000);
}
