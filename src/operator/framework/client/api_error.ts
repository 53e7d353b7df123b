import * as k8s from "@kubernetes/client-node";

/** The HTTP status of a failed API call (404, 409, 410, ...), or undefined for a network error. */
export function apiStatusCode(error: unknown): number | undefined {
  if (error instanceof k8s.ApiException) return error.code;
  const code = (error as { statusCode?: unknown; code?: unknown } | null)?.statusCode;
  return typeof code === "number" ? code : undefined;
}

/** A one-line description of a failed API call: the server's Status message when there is one. */
export function describeApiError(error: unknown): string {
  if (error instanceof k8s.ApiException) {
    let message: unknown = undefined;
    try {
      message = (typeof error.body === "string" ? JSON.parse(error.body) : error.body)?.message;
    } catch {
      message = error.body;
    }
    return `HTTP ${error.code}: ${message ?? error.message}`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export const isNotFound = (error: unknown) => apiStatusCode(error) === 404;
export const isConflict = (error: unknown) => apiStatusCode(error) === 409;
