import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EquipmentCheckResponse, MaintenanceTicket, RoomChecklist, TicketList } from '../../protocol/index.ts';
import { startLedgerFixture, type LedgerFixture } from './ledger-fixture.ts';
import { expectError } from './support.ts';

let fx: LedgerFixture;
beforeAll(async () => {
  fx = await startLedgerFixture();
});
afterAll(async () => {
  await fx?.stop();
});

describe('equipment patrol → maintenance ticket', () => {
  it('gives the checklist of the room kind, opens a ticket for a failed item on its camera, and maintenance works it to closed', async () => {
    const patrol = fx.account('patrol', 'A');
    const maint = fx.account('maintenance', 'A');
    const list = RoomChecklist.parse(await (await fx.call('GET', `/api/ledger/checklists/${fx.a.room}`, patrol)).json());
    // A bid-opening room: image, audio and clock per camera; shielding and access control belong to evaluation rooms.
    expect(list.items.map((i) => i.code)).toEqual(['image_clear', 'audio_present', 'clock_right']);
    expect(list.cameras.map((c) => c.id)).toEqual(fx.a.cameras);

    const [cam1, cam2] = fx.a.cameras as [string, string];
    const results = list.items.flatMap((i) => [cam1, cam2].map((deviceId) => ({ item: i.code, deviceId, ok: !(i.code === 'image_clear' && deviceId === cam1), note: i.code === 'image_clear' && deviceId === cam1 ? '画面模糊' : '' })));
    const res = await fx.call('POST', '/api/ledger/equipment-checks', patrol, { roomId: fx.a.room, results });
    expect(res.status).toBe(201);
    const check = EquipmentCheckResponse.parse(await res.json());
    expect(check.tickets).toHaveLength(1);
    expect(check.tickets[0]).toMatchObject({ deviceId: cam1, item: 'image_clear', status: 'open', note: '画面模糊', roomId: fx.a.room });
    const ticketId = check.tickets[0]!.id;

    // The ticket shows to maintenance of venue A, not to venue B's scope.
    const open = TicketList.parse(await (await fx.call('GET', '/api/ledger/tickets?status=open', maint)).json());
    expect(open.tickets.map((t) => t.id)).toContain(ticketId);

    await expectError(await fx.call('POST', `/api/ledger/tickets/${ticketId}/transitions`, patrol, { action: 'start' }), 403, 'forbidden');
    const started = MaintenanceTicket.parse(await (await fx.call('POST', `/api/ledger/tickets/${ticketId}/transitions`, maint, { action: 'start' })).json());
    expect(started.status).toBe('in_progress');
    await expectError(await fx.call('POST', `/api/ledger/tickets/${ticketId}/transitions`, maint, { action: 'start' }), 409, 'conflict');
    await expectError(await fx.call('POST', `/api/ledger/tickets/${ticketId}/transitions`, maint, { action: 'close' }), 400, 'bad_request', /resolution/);
    const closed = MaintenanceTicket.parse(await (await fx.call('POST', `/api/ledger/tickets/${ticketId}/transitions`, maint, { action: 'close', resolution: '清洁镜头并重新对焦' })).json());
    expect(closed).toMatchObject({ status: 'closed', resolution: '清洁镜头并重新对焦' });
    expect(closed.closedAt).not.toBeNull();

    const audit = (await fx.server.services.audit.list()).filter((r) => r.subjectId === ticketId).map((r) => r.action);
    expect(audit).toEqual(['ticket.open', 'ticket.start', 'ticket.close']);
  });

  it('refuses items not on the room\'s checklist, devices of another room or venue, and rooms out of scope; nothing is written', async () => {
    const patrol = fx.account('patrol', 'A');
    const before = (await fx.server.services.audit.list()).length;
    await expectError(await fx.call('POST', '/api/ledger/equipment-checks', patrol, { roomId: fx.a.room, results: [{ item: 'shielding_on', ok: false }] }), 400, 'bad_request', /not on the checklist/);
    await expectError(await fx.call('POST', '/api/ledger/equipment-checks', patrol, { roomId: fx.a.room, results: [{ item: 'image_clear', deviceId: fx.b.cameras[0], ok: false }] }), 400, 'bad_request', /per camera/);
    await expectError(
      await fx.call('POST', '/api/ledger/equipment-checks', patrol, { roomId: fx.a.room, results: [{ item: 'image_clear', deviceId: fx.a.cameras[0], ok: false }, { item: 'bogus', ok: false }] }),
      400,
      'bad_request',
    );
    await expectError(await fx.call('POST', '/api/ledger/equipment-checks', patrol, { roomId: fx.b.room, results: [{ item: 'image_clear', deviceId: fx.b.cameras[0], ok: false }] }), 404, 'not_found');
    await expectError(await fx.call('GET', `/api/ledger/checklists/${fx.b.room}`, patrol), 404, 'not_found');
    expect((await fx.server.services.audit.list()).length).toBe(before);
    const bTickets = TicketList.parse(await (await fx.call('GET', '/api/ledger/tickets', fx.account('maintenance', 'A'))).json()).tickets;
    expect(bTickets.every((t) => t.venueId === fx.a.id)).toBe(true);
  });
});
