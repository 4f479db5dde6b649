import type { ErrorCode, Language, UserText } from '../../protocol/index.ts';

/**
 * A refusal the dashboard shows ("this room is booked", "the approval has expired") is a UserText:
 * the dashboard is Chinese by default, so it must be Chinese too; English stays the language of
 * logs and of callers that ask for nothing else.
 */
export type { Language, UserText };

/** A failure the caller can act on; the HTTP layer turns it into `{ error: { code, message } }`. */
export class AppError extends Error {
  override name = 'AppError';
  /** The Chinese text; null for failures only venue boxes and scripts see (see `forMachines`). */
  readonly zh: string | null;
  constructor(
    readonly code: ErrorCode,
    message: UserText,
  ) {
    super(message.en);
    this.zh = message.zh || null;
  }

  /**
   * A failure only a program meets (a venue box's upload, a broker message): English alone, as
   * the box logs it. Whatever a person can meet through the dashboard takes a UserText instead.
   */
  static forMachines(code: ErrorCode, message: string): AppError {
    return new AppError(code, { en: message, zh: '' });
  }

  /** The message in `language`, English where no translation was given. */
  messageIn(language: Language): string {
    return language === 'zh' && this.zh ? this.zh : this.message;
  }
}

export const httpStatusOf: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  integrity_failed: 422,
  unavailable: 503,
  internal: 500,
};
