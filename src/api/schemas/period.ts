import { z } from 'zod';
import { isValidPeriodId, PERIOD_ID, PERIOD_YEARS } from '../../periods/calendar.ts';

/** A commission period id that names a real period (2026-11, 2026-11-H1, 2026-W47). */
export const periodIdSchema = z
  .string()
  .regex(PERIOD_ID, { message: 'must be a period id such as 2026-11, 2026-11-H1 or 2026-W47', abort: true })
  .refine(
    isValidPeriodId,
    `no such period: months run 01-12, ISO weeks 01-52 (53 in some years), years ${PERIOD_YEARS.first}-${PERIOD_YEARS.last}`,
  )
  .describe('Period id');
