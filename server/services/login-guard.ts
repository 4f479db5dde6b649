import { AppError } from './errors.ts';

/**
 * Login throttling: after `maxFailures` failed logins for one username, or four times as many
 * from one client address (several officers share a venue's NAT), within the lockout window, further attempts are refused until the window has passed.
 * Kept in memory: a restart forgets the count, which is acceptable for slowing down guessing on a
 * single centre (the audit trail keeps every failure for good).
 */
export class LoginGuard {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  /** Throws rate_limited when the username or address has too many recent failures. */
  check(username: string, address: string, now = Date.now()): void {
    for (const [key, limit] of [
      [`u:${username.toLowerCase()}`, this.maxFailures],
      [`a:${address}`, this.maxFailures * 4],
    ] as const) {
      const list = this.recent(key, now);
      if (list.length >= limit) {
        const waitS = Math.ceil((list[0]! + this.windowMs - now) / 1000);
        throw new AppError('rate_limited', {
          en: `too many failed sign-ins: wait ${waitS} s and try again, or ask an administrator to check the account`,
          zh: `登录失败次数过多：请等待 ${waitS} 秒后重试，或请管理员检查该账号`,
        });
      }
    }
  }

  fail(username: string, address: string, now = Date.now()): void {
    for (const key of [`u:${username.toLowerCase()}`, `a:${address}`]) this.failures.set(key, [...this.recent(key, now), now]);
  }

  succeed(username: string): void {
    this.failures.delete(`u:${username.toLowerCase()}`);
  }
}
