/**
 * When an answer is due, per procedure: rules as data (config/deadlines.yaml), and the pure
 * computation of a due day from a rule, the registration instant and the office's calendar.
 * A letter is on time when answered by the end of its due day in the office's time zone.
 */
import { dirname, join } from 'node:path';
import * as z from 'zod';
import { WaslError } from '../errors.js';
import { SHIPPED_CONFIG_PATH } from '../paths.js';
import type { CalendarDay } from './calendar-day.js';
import { loadDataFile } from './data-file.js';
import { translatedNames } from './holidays-data.js';
import type { WorkingCalendar } from './working-calendar.js';

const periodSchema = z.strictObject({
  count: z.number().int().min(1).max(3650),
  /** working-days skip weekends and holidays; calendar-days count every day (see onNonWorkingDay). */
  unit: z.enum(['working-days', 'calendar-days']),
  /**
   * calendar-days only: a period ending on a day off ends on the next working day instead
   * (next-working-day, as procedural deadlines do), or on that day all the same (same-day).
   */
  onNonWorkingDay: z.enum(['next-working-day', 'same-day']).default('next-working-day'),
});

export type Period = z.output<typeof periodSchema>;

const ruleSchema = z.strictObject({
  /** Names the rule where a department or a procedure uses it. */
  id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lowercase letters and digits joined by "-", e.g. information-request'),
  names: translatedNames,
  /** The text that sets the period, as people cite it (law 31-13). */
  source: z.string().min(1).optional(),
  period: periodSchema,
  /** A further period the department head may grant, with a reason, at most `times` times. */
  extension: periodSchema.extend({ times: z.number().int().min(1).max(10).default(1) }).optional(),
  /** The procedure's silence is acceptance (law 55-19): when the due day passes unanswered, the letter says so. */
  silenceMeansAcceptance: z.boolean().default(false),
});

export const deadlineRulesSchema = z
  .strictObject({ rules: z.array(ruleSchema) })
  .superRefine((data, context) => {
    const seen = new Set<string>();
    data.rules.forEach((rule, index) => {
      if (seen.has(rule.id)) context.addIssue({ code: 'custom', path: ['rules', index, 'id'], message: `duplicate rule id ${rule.id}` });
      seen.add(rule.id);
    });
  });

export type DeadlineRule = z.output<typeof deadlineRulesSchema>['rules'][number];

export const SHIPPED_DEADLINE_RULES_PATH = join(dirname(SHIPPED_CONFIG_PATH), 'deadlines.yaml');

export function loadDeadlineRules(file = SHIPPED_DEADLINE_RULES_PATH): DeadlineRule[] {
  return loadDataFile({ file, schema: deadlineRulesSchema }).rules;
}

/** The last day of a period counted from `from` (day 0, not counted). */
function endOfPeriod({ period, from, calendar }: { period: Period; from: CalendarDay; calendar: WorkingCalendar }): CalendarDay {
  if (period.unit === 'working-days') return calendar.addWorkingDays(from, period.count);
  const end = calendar.addCalendarDays(from, period.count);
  if (period.onNonWorkingDay === 'same-day' || calendar.isWorkingDay(end)) return end;
  return calendar.addWorkingDays(end, 1);
}

/** The day an answer is due for a letter registered at `registeredAt` under `rule`. */
export function dueDay({ rule, registeredAt, calendar }: { rule: DeadlineRule; registeredAt: Date; calendar: WorkingCalendar }): CalendarDay {
  return endOfPeriod({ period: rule.period, from: calendar.dayOf(registeredAt), calendar });
}

/**
 * The due day after one more extension, counted from the current due day. `extensionsSoFar` is
 * how many the letter already had: past the rule's allowance, or for a rule without one, refused.
 */
export function extendedDueDay({
  rule,
  dueOn,
  extensionsSoFar,
  calendar,
}: {
  rule: DeadlineRule;
  dueOn: CalendarDay;
  extensionsSoFar: number;
  calendar: WorkingCalendar;
}): CalendarDay {
  if (!rule.extension) throw new WaslError('deadline.not_extendable', `the rule ${rule.id} allows no extension`);
  if (extensionsSoFar >= rule.extension.times) {
    throw new WaslError('deadline.extensions_used', `the rule ${rule.id} allows ${rule.extension.times} extension(s), and ${extensionsSoFar} were granted`);
  }
  return endOfPeriod({ period: rule.extension, from: dueOn, calendar });
}
