import type { EdgeAgentConfig } from '../config/schema.ts';
import type { SessionCreate } from '../protocol/index.ts';

/**
 * The demo county venue: a bid-opening room and an evaluation room with two cameras each (the
 * centres' rule is at least two cameras with audio per room). Also the fixture of the end-to-end test.
 */
export function demoVenuePlan() {
  const venue = { id: 'demo-county', name: '示范县公共资源交易中心' };
  const rooms: EdgeAgentConfig['rooms'] = [
    { code: 'kb1', name: '第一开标室', kind: 'bid_opening' },
    { code: 'pb1', name: '第一评标室', kind: 'evaluation' },
  ];
  const cameras = [
    { code: 'kb1-cam1', name: '开标室 前', room: 'kb1' },
    { code: 'kb1-cam2', name: '开标室 后', room: 'kb1' },
    { code: 'pb1-cam1', name: '评标室 前', room: 'pb1' },
    { code: 'pb1-cam2', name: '评标室 后', room: 'pb1' },
  ];
  const sessions: (Omit<SessionCreate, 'plannedStart' | 'plannedEnd'> & { hours: number })[] = [
    { projectCode: 'DEMO-2026-0001', projectName: '示范县第一中学教学楼建设工程施工', kind: 'bid_opening', roomId: `${venue.id}.kb1`, hours: 2 },
    { projectCode: 'DEMO-2026-0002', projectName: '示范县人民医院医疗设备采购', kind: 'evaluation', roomId: `${venue.id}.pb1`, hours: 4 },
  ];
  return { venue, rooms, cameras, sessions, cameraUser: 'admin', cameraPassword: 'demo-camera-pass' };
}
