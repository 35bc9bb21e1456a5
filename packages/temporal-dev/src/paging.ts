// Offset paging for lists: the token is the offset of the next page, as text.

/** The official frontend's cap (and default) for a visibility page: FrontendVisibilityMaxPageSize. */
export const VISIBILITY_MAX_PAGE = 1000;

export function page<T>(
  items: T[],
  pageSize: number | undefined,
  token: Uint8Array | undefined,
  max: number,
) {
  const size = pageSize && pageSize > 0 ? Math.min(pageSize, max) : max;
  const from = token?.length ? Number(Buffer.from(token).toString()) || 0 : 0;
  const rows = items.slice(from, from + size);
  const next = from + size < items.length ? Buffer.from(String(from + size)) : undefined;
  return { rows, nextPageToken: next };
}
