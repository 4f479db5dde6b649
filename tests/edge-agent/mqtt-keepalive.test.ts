import { describe, expect, it } from 'vitest';
import { keepaliveCheckMs } from '../../edge-agent/link/mqtt-link.ts';

/**
 * mqtt.js checks its keepalive every half keepalive; the agent runs that check on the box's 2 s
 * grid (edge-agent/link/mqtt-link.ts). The ping goes after two checks without an answer, so for
 * every keepalive the config allows, two checks must stay within the broker's 1.5 × keepalive, or
 * the broker would drop a healthy box.
 */
describe('the MQTT keepalive check on the box’s grid', () => {
  it('runs every 6 s at the default 10 s keepalive, with the commit and the playlist polls', () => {
    expect(keepaliveCheckMs(5000)).toBe(6000);
    expect(keepaliveCheckMs(6000)).toBe(6000);
    expect(keepaliveCheckMs(30_000)).toBe(30_000);
  });

  it('pings within the broker’s 1.5 × keepalive for every keepalive from 2 to 60 s', () => {
    for (let k = 2; k <= 60; k++) {
      const asked = (k * 1000) / 2;
      const check = keepaliveCheckMs(asked);
      expect(2 * check, `keepalive ${k} s`).toBeLessThanOrEqual(1.5 * k * 1000);
      expect(check, `keepalive ${k} s`).toBeGreaterThanOrEqual(asked);
      // On the grid wherever that is possible: only 2 s and 5 s keep what mqtt.js asked.
      if (k !== 2 && k !== 5) expect(check % 2000, `keepalive ${k} s`).toBe(0);
    }
  });
});
