import { useEffect, useRef } from "react";
import { AFTER_HOURS, DAYS, type Day, type DayHours, type HoursDraft, type HoursErrors } from "../hours";
import { DAY_NAMES, describeIntervals } from "../routing";
import { HintAndError, SelectField, describedBy } from "./AgentField";

export const AFTER_HOURS_LABELS: Record<HoursDraft["afterHours"], string> = {
  agent: "The agent answers and says you are closed",
  forward: "Forward to your phone (or the fallback's number)",
  voicemail: "Voicemail",
};

interface Props {
  /** Unique on the page: every card's routing form has its own. */
  id: string;
  draft: HoursDraft;
  onChange: (draft: HoursDraft) => void;
  errors: HoursErrors;
  /** The time zones offered (the browser's list, with the draft's own). */
  zones: readonly string[];
}

/**
 * Business hours: on or off (always open), the time zone, one interval per day with an open or
 * closed toggle (a day the API holds with more intervals is shown and kept as it is), dates closed
 * all day, and what a call gets after hours.
 */
export function HoursEditor({ id, draft, onChange, errors, zones }: Props) {
  const set = (change: Partial<HoursDraft>) => onChange({ ...draft, ...change });
  const setDay = (day: Day, change: Partial<DayHours>) =>
    set({ days: { ...draft.days, [day]: { ...draft.days[day], ...change } } });
  const setDate = (row: number, value: string) =>
    set({ closedDates: draft.closedDates.map((date, index) => (index === row ? value : date)) });

  // A date added by the button takes the keyboard; one removed gives it back to the button.
  const added = useRef(false);
  const addButton = useRef<HTMLButtonElement>(null);
  const count = draft.closedDates.length;
  useEffect(() => {
    if (added.current) document.getElementById(`${id}-closed-${count - 1}`)?.focus();
    added.current = false;
  }, [count, id]);

  const toggleId = `${id}-enabled`;
  return (
    <fieldset className="hours" aria-describedby={describedBy(id, true, errors.general)}>
      <legend>Business hours</legend>
      <div className="check">
        <input
          type="checkbox"
          id={toggleId}
          checked={draft.enabled}
          onChange={(event) => set({ enabled: event.target.checked })}
        />
        <label htmlFor={toggleId}>Set business hours</label>
      </div>
      <HintAndError
        id={id}
        hint={draft.enabled ? "Outside these hours, calls get what After hours says." : "Off: always open."}
        error={errors.general}
      />
      {draft.enabled ? (
        <>
          <SelectField
            id={`${id}-timezone`}
            name="timezone"
            label="Time zone"
            value={draft.timezone}
            options={zones.map((zone) => ({ value: zone, label: zone.replaceAll("_", " ") }))}
            onChange={(timezone) => set({ timezone })}
            error={errors.timezone}
          />
          <fieldset className="week" aria-describedby={`${id}-week-hint`}>
            <legend>Opening hours</legend>
            <p id={`${id}-week-hint`} className="hint">
              For each open day, when you open and when you close; closing at 00:00 means open until midnight.
            </p>
            {DAYS.map((day) => (
              <DayRow
                key={day}
                id={`${id}-${day}`}
                day={day}
                hours={draft.days[day]}
                onChange={(change) => setDay(day, change)}
                error={errors.days[day]}
              />
            ))}
          </fieldset>
          <fieldset className="closed-dates" aria-describedby={describedBy(`${id}-closed`, true, errors.closedDates)}>
            <legend>Closed dates</legend>
            <HintAndError
              id={`${id}-closed`}
              hint="Closed all day, whatever the week says (public holidays)."
              error={errors.closedDates}
            />
            {draft.closedDates.length ? (
              <ul className="closed-list">
                {draft.closedDates.map((date, row) => {
                  const dateId = `${id}-closed-${row}`;
                  const error = errors.closedDateRows[row];
                  return (
                    // Rows are positional: an added or removed date keeps the others' inputs.
                    <li key={row} className="closed-date">
                      <label htmlFor={dateId}>Closed date {row + 1}</label>
                      <input
                        type="date"
                        id={dateId}
                        value={date}
                        aria-invalid={error ? true : undefined}
                        aria-describedby={describedBy(dateId, false, error)}
                        onChange={(event) => setDate(row, event.target.value)}
                      />
                      <button
                        type="button"
                        className="link"
                        aria-label={`Remove closed date ${row + 1}`}
                        onClick={() => {
                          set({ closedDates: draft.closedDates.filter((_, index) => index !== row) });
                          addButton.current?.focus();
                        }}
                      >
                        Remove
                      </button>
                      <HintAndError id={dateId} error={error} />
                    </li>
                  );
                })}
              </ul>
            ) : null}
            <button
              type="button"
              className="secondary"
              ref={addButton}
              onClick={() => {
                added.current = true;
                set({ closedDates: [...draft.closedDates, ""] });
              }}
            >
              Add a closed date
            </button>
          </fieldset>
          <SelectField
            id={`${id}-after-hours`}
            name="afterHours"
            label="After hours"
            value={draft.afterHours}
            options={AFTER_HOURS.map((value) => ({ value, label: AFTER_HOURS_LABELS[value] }))}
            onChange={(afterHours) => set({ afterHours })}
            error={errors.afterHours}
          />
        </>
      ) : null}
    </fieldset>
  );
}

interface DayProps {
  id: string;
  day: Day;
  hours: DayHours;
  onChange: (change: Partial<DayHours>) => void;
  error?: string;
}

/** One day: open or closed, and from when until when (a day of several intervals is kept as it is). */
function DayRow({ id, day, hours, onChange, error }: DayProps) {
  const name = DAY_NAMES[day];
  const described = describedBy(id, false, error);
  if (hours.kept) {
    return (
      <div className="day" data-day={day}>
        <span className="day-name">{name}</span>
        <span className="day-kept" id={`${id}-kept`}>
          {describeIntervals(hours.kept)} (more than one interval, set through the API: kept as it is)
        </span>
        <HintAndError id={id} error={error} />
      </div>
    );
  }
  const invalid = error ? true : undefined;
  return (
    <div className="day" data-day={day}>
      <span className="check day-name">
        <input
          type="checkbox"
          id={`${id}-open`}
          checked={hours.open}
          aria-invalid={invalid}
          aria-describedby={described}
          onChange={(event) => onChange({ open: event.target.checked })}
        />
        <label htmlFor={`${id}-open`}>
          <span className="visually-hidden">Open on </span>
          {name}
        </label>
      </span>
      {hours.open ? (
        <span className="day-times">
          <label htmlFor={`${id}-from`} className="visually-hidden">
            {name} opens
          </label>
          <input
            type="time"
            id={`${id}-from`}
            value={hours.from}
            aria-invalid={invalid}
            aria-describedby={described}
            onChange={(event) => onChange({ from: event.target.value })}
          />
          <span aria-hidden="true">–</span>
          <label htmlFor={`${id}-to`} className="visually-hidden">
            {name} closes
          </label>
          <input
            type="time"
            id={`${id}-to`}
            value={hours.to}
            aria-invalid={invalid}
            aria-describedby={described}
            onChange={(event) => onChange({ to: event.target.value })}
          />
        </span>
      ) : (
        <span className="day-closed">Closed</span>
      )}
      <HintAndError id={id} error={error} />
    </div>
  );
}
