import type { PostCallField } from "./api";
import type { FieldError } from "./components/useAgentVersion";

/** The API's limits (core/post_call_fields.py): at most 10 fields, 20 choices each. */
export const MAX_POST_CALL_FIELDS = 10;

export type PostCallFieldType = PostCallField["type"];

export const FIELD_TYPE_LABELS: Record<PostCallFieldType, string> = {
  string: "Text",
  enum: "One of a list",
  boolean: "Yes or no",
  number: "Number",
};

/** One field as the form holds it: choices as typed, one a line; `key` keeps React's rows apart. */
export interface FieldDraft {
  key: string;
  name: string;
  type: PostCallFieldType;
  description: string;
  choices: string;
}

let drafted = 0;
const nextKey = () => `f${++drafted}`;

export const emptyDraft = (): FieldDraft => ({ key: nextKey(), name: "", type: "string", description: "", choices: "" });

export const draftsOf = (fields: readonly PostCallField[] | undefined): FieldDraft[] =>
  (fields ?? []).map((field) => ({
    key: nextKey(),
    name: field.name,
    type: field.type,
    description: field.description,
    choices: (field.choices ?? []).join("\n"),
  }));

/** What the API is sent: choices (trimmed, blank lines dropped) only for an enum, which needs them. */
export function fieldsOf(drafts: readonly FieldDraft[]): PostCallField[] {
  return drafts.map(({ name, type, description, choices }) => {
    const field: PostCallField = { name: name.trim(), type, description: description.trim() };
    if (type === "enum") {
      field.choices = choices
        .split("\n")
        .map((choice) => choice.trim())
        .filter(Boolean);
    }
    return field;
  });
}

export const sameFields = (a: readonly PostCallField[], b: readonly PostCallField[]) =>
  JSON.stringify(fieldsOf(draftsOf(a))) === JSON.stringify(b);

/** The API's errors about postCallFields, by where the editor shows them. */
export interface PostCallFieldErrors {
  /** About the list as a whole: too many fields, a name used twice. */
  list?: string;
  /** By row: its name, type, description or choices input, or the row itself (`row`). */
  rows: Record<number, Partial<Record<"name" | "type" | "description" | "choices" | "row", string>>>;
}

const PATH = /^postCallFields(?:\.(\d+)(?:\.(name|type|description|choices)(?:\.\d+)?)?)?$/;

/**
 * The 400's `fields` split: those about postCallFields (`postCallFields`, `postCallFields.2`,
 * `postCallFields.2.name`, `postCallFields.2.choices.0`...) for the editor, and the rest.
 */
export function splitPostCallFieldErrors(fields: readonly FieldError[]): {
  postCall: PostCallFieldErrors;
  rest: FieldError[];
} {
  const postCall: PostCallFieldErrors = { rows: {} };
  const rest: FieldError[] = [];
  const add = (current: string | undefined, message: string) => (current ? `${current}; ${message}` : message);
  for (const error of fields) {
    const match = PATH.exec(error.field);
    if (!match) {
      rest.push(error);
    } else if (match[1] === undefined) {
      postCall.list = add(postCall.list, error.message);
    } else {
      const row = (postCall.rows[Number(match[1])] ??= {});
      const where = (match[2] ?? "row") as keyof (typeof postCall.rows)[number];
      row[where] = add(row[where], error.message);
    }
  }
  return { postCall, rest };
}

/** An answer as people read it: Yes/No, a number in the reader's language, text as it is. */
export function formatAnswer(answer: string | number | boolean, locale?: string): string {
  if (typeof answer === "boolean") return answer ? "Yes" : "No";
  if (typeof answer === "number") return answer.toLocaleString(locale);
  return answer;
}
