import { describe, expect, it } from 'vitest';
import zhCN from '../../dashboard/src/i18n/zh-CN.ts';
import en from '../../dashboard/src/i18n/en.ts';
import { ErrorCode, FootageStatus } from '../../protocol/api.ts';
import { RoomKind, Role, SessionKind } from '../../protocol/rooms.ts';

function keys(obj: unknown, prefix = ''): string[] {
  if (typeof obj !== 'object' || obj === null) return [prefix];
  return Object.entries(obj).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}

function leaf(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

describe('dashboard translations', () => {
  it('zh-CN and en have exactly the same keys', () => {
    expect(keys(en).sort()).toEqual(keys(zhCN).sort());
  });

  it('every string is non-empty and uses the same placeholders in both languages', () => {
    for (const key of keys(zhCN)) {
      const zh = leaf(zhCN, key);
      const e = leaf(en, key);
      expect(typeof zh, key).toBe('string');
      expect((zh as string).trim(), key).not.toBe('');
      expect((e as string).trim(), key).not.toBe('');
      const vars = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(vars(e as string), key).toEqual(vars(zh as string));
    }
  });

  it('covers every protocol enum the UI shows', () => {
    for (const k of RoomKind.options) expect(leaf(zhCN, `roomKind.${k}`), k).toBeTypeOf('string');
    for (const k of SessionKind.options) expect(leaf(zhCN, `sessionKind.${k}`), k).toBeTypeOf('string');
    for (const k of Role.options) expect(leaf(zhCN, `roles.${k}`), k).toBeTypeOf('string');
    for (const k of ErrorCode.options) expect(leaf(zhCN, `errors.${k}`), k).toBeTypeOf('string');
    // The player words the fetch-from-venue state itself, from its figures.
    for (const k of FootageStatus.shape.status.options) expect(leaf(zhCN, `camera.footage.${k}`), k).toBeTypeOf('string');
  });

  it('uses the centres\' Chinese terms', () => {
    expect(zhCN.roomKind.bid_opening).toBe('开标室');
    expect(zhCN.roomKind.evaluation).toBe('评标室');
    expect(zhCN.roomKind.electronic_evaluation).toBe('电子评标室');
    expect(zhCN.roomKind.remote_evaluation).toBe('远程异地评标室');
    expect(zhCN.sessionKind).toEqual({ bid_opening: '开标', evaluation: '评标', remote_evaluation: '远程异地评标' });
    expect(zhCN.sessions.columns.projectCode).toBe('项目编号');
  });
});
