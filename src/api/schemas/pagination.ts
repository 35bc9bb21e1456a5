import { z } from 'zod';

/** `?limit=` of a paginated list: 1-200 items, default chosen by the route. */
export const pageLimit = z
  .string()
  .regex(/^\d{1,3}$/, 'must be a whole number 1-200')
  .transform(Number)
  .pipe(z.number().int().min(1).max(200))
  .optional()
  .describe('Page size, 1-200 (default 50)');
