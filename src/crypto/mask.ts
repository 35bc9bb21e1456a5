// Masking for responses and logs: only the last four characters of an identifier ever leave the service.

export function lastFour(value: string): string {
  const compact = value.replace(/[\s-]/g, '');
  return compact.length <= 4 ? compact.slice(-Math.min(2, compact.length)) : compact.slice(-4);
}

export function mask(value: string): string {
  return `****${lastFour(value)}`;
}
