/**
 * Runs the hub as a separate process, exactly as `npm start` does, so a test can kill it with
 * SIGKILL and start it again on the same data.
 */
import { type HubProcess, spawnHub } from '../../simulators/spawn-hub.ts';
import { ADMIN_PASSWORD } from './hub.ts';

export type ChildHub = HubProcess;

export function startChildHub(dataDir: string, env: Record<string, string> = {}): Promise<ChildHub> {
  return spawnHub({ DATA_DIR: dataDir, MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', HUB_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env });
}
