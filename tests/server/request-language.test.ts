import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseWith } from '../../server/http/errors.ts';
import { requestLanguage } from '../../server/http/request-language.ts';
import { AppError } from '../../server/services/errors.ts';

const lang = (header?: string) => requestLanguage({ headers: header === undefined ? {} : { 'accept-language': header } });

describe('the language of the centre\'s answers', () => {
  it('follows Accept-Language: Chinese for any zh tag, English otherwise, weights respected', () => {
    expect(lang()).toBe('en');
    expect(lang('zh-CN')).toBe('zh');
    expect(lang('zh')).toBe('zh');
    expect(lang('zh-TW,zh;q=0.9')).toBe('zh');
    expect(lang('en')).toBe('en');
    expect(lang('en-GB,en;q=0.9,zh-CN;q=0.8')).toBe('en');
    expect(lang('en;q=0.5, zh-CN;q=0.9')).toBe('zh');
    expect(lang('fr-FR,de;q=0.9')).toBe('en');
    expect(lang('zh-CN;q=0')).toBe('en');
    expect(lang('*')).toBe('en');
  });

  it('gives a bad field in both languages, named the same', () => {
    const schema = z.object({ roomId: z.string().min(3), kind: z.enum(['bid_opening', 'evaluation']) });
    let caught: unknown;
    try {
      parseWith(schema, { roomId: 'x', kind: 'evaluation' }, { en: 'session', zh: '场次' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    const err = caught as AppError;
    expect(err.code).toBe('bad_request');
    expect(err.messageIn('en')).toMatch(/^session: roomId: Too small/);
    expect(err.messageIn('zh')).toMatch(/^场次有误：roomId：.*[\u4e00-\u9fff]/);
  });

  it('keeps failures only programs meet in English whatever the caller asks', () => {
    const err = AppError.forMachines('conflict', 'segment already stored with other bytes');
    expect(err.messageIn('zh')).toBe('segment already stored with other bytes');
    expect(new AppError('not_found', { en: 'no such room', zh: '没有这个房间' }).messageIn('zh')).toBe('没有这个房间');
  });
});
