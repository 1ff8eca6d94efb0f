/**
 * Errors that carry an exit code (UPSTREAM.md) and a message fit for a user.
 * Anything thrown that is not a Hop3Error is a bug and is reported as such.
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  notFound: 3,
  authentication: 4,
  authorization: 5,
  conflict: 6,
  network: 7,
  deployFailed: 8,
} as const;
export type ExitCodeName = keyof typeof ExitCode;

/** HTTP status the server answers for each kind of error. */
export const httpStatusFor: Record<ExitCodeName, number> = {
  ok: 200,
  error: 500,
  usage: 400,
  notFound: 404,
  authentication: 401,
  authorization: 403,
  conflict: 409,
  network: 502,
  deployFailed: 422,
};

export class Hop3Error extends Error {
  constructor(
    message: string,
    readonly kind: ExitCodeName = "error",
    readonly hint?: string,
  ) {
    super(message);
    this.name = "Hop3Error";
  }
  get exitCode(): number {
    return ExitCode[this.kind];
  }
}

export const usageError = (msg: string, hint?: string) => new Hop3Error(msg, "usage", hint);
export const notFound = (msg: string, hint?: string) => new Hop3Error(msg, "notFound", hint);
export const conflict = (msg: string, hint?: string) => new Hop3Error(msg, "conflict", hint);

/** Wire format of an error in API responses: `{ "error": { "kind", "message", "hint" } }`. */
export interface ApiErrorBody {
  error: { kind: ExitCodeName; message: string; hint?: string };
}

export function toApiError(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof Hop3Error) {
    return {
      status: httpStatusFor[err.kind],
      body: { error: { kind: err.kind, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: { kind: "error", message: `internal error: ${message}` } } };
}
