/**
 * Text a person reads, in the two languages the dashboard speaks (Chinese by default). The names of
 * the protocol's states and kinds live next to their enums as tables of this shape, so the
 * dashboard's translations and the centre's own Chinese messages use the same words.
 */
export interface UserText {
  en: string;
  zh: string;
}

export type Language = keyof UserText;

/** The name of every value of an enum, in both languages. */
export type Names<K extends string> = Record<K, UserText>;

/** One language of a names table, as the dashboard's message tables want it. */
export function namesIn<K extends string>(names: Names<K>, language: Language): Record<K, string> {
  return Object.fromEntries(Object.entries<UserText>(names).map(([k, v]) => [k, v[language]])) as Record<K, string>;
}

/** The name of one value (as stored, so any string) in a language; an unknown value is shown as it is. */
export function nameIn<K extends string>(names: Names<K>, value: string, language: Language): string {
  return (names as Record<string, UserText | undefined>)[value]?.[language] ?? value;
}
