import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { centreSubscriptions, topics } from '../../protocol/index.ts';

/** docs/device-health.md's Mosquitto ACL must match the embedded broker's rules for every topic. */
describe('Mosquitto ACL in the docs', () => {
  const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/device-health.md'), 'utf8');
  const acl = doc.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('pattern '));

  it('lets a box write exactly the edge → centre topics and read exactly windows and commands', () => {
    const writes = centreSubscriptions.map((s) => s.split('/').at(-1)!).sort();
    expect(acl.filter((l) => l.startsWith('pattern write')).map((l) => l.split('/').at(-1)).sort()).toEqual(writes);
    expect(acl.filter((l) => l.startsWith('pattern read')).map((l) => l.split('/').at(-1)).sort()).toEqual(['commands', 'windows']);
    // Every topic of the protocol is covered one way or the other.
    expect(new Set(acl.map((l) => l.split('/').at(-1)))).toEqual(new Set(Object.keys(topics)));
    for (const l of acl) expect(l).toMatch(/^pattern (read|write) vw\/v1\/venues\/%u\/[a-z]+$/);
  });
});
