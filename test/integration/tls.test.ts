/**
 * TLS with the municipality's certificate: MQTT over TLS (mqtt.js and Debian's mosquitto_pub
 * with --cafile), HTTPS, plain MQTT turned off, a renewed
 * certificate taken without a restart, and devices signing in with client certificates.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../hub/config.ts';
import { topics } from '../../hub/core/topics.ts';
import { type Ca, makeCa, makeCert, pem } from '../helpers/certs.ts';
import { eventually, nextEventId, registerDevice, startTestHub, tempDir, type TestHub } from '../helpers/hub.ts';

const dir = tempDir('hub-tls-');
let ca: Ca;
let other: Ca;
let t: TestHub;
const serverCert = `${dir}/server.pem`;
const serverKey = `${dir}/server.key`;

function get(path: string, token?: string): Promise<{ status: number; body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time, so a renewed certificate is what it meets.
    const req = request({ host: '127.0.0.1', port: t.hub.httpPort, path, ca: pem(ca.cert), servername: 'localhost', agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      const serial = (res.socket as unknown as { getPeerCertificate(): { serialNumber: string } }).getPeerCertificate().serialNumber;
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The serial number of the certificate a TLS port presents now. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: pem(ca.cert), servername: 'localhost' }, () => { resolve(s.getPeerCertificate().serialNumber); s.end(); });
    s.on('error', reject);
  });
}

beforeAll(async () => {
  ca = makeCa(dir);
  other = makeCa(dir, 'other');
  const s = makeCert(ca, 'server-1', 'localhost', { server: true, serial: 1001 });
  copyFileSync(s.cert, serverCert);
  copyFileSync(s.key, serverKey);
  t = await startTestHub({
    config: { mqttPlain: false, tls: { certFile: serverCert, keyFile: serverKey, clientCaFile: ca.cert, mqttsPort: 0 } },
    https: { ca: pem(ca.cert) },
  });
  await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
}, 60_000);
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS', () => {
  it('is configured from the environment: PEM files that exist, both of them; MQTT_PORT=0 turns plain MQTT off', () => {
    const c = loadConfig({ TLS_CERT: serverCert, TLS_KEY: serverKey, MQTT_PORT: '0' });
    expect(c).toMatchObject({ mqttPlain: false, tls: { certFile: serverCert, keyFile: serverKey, clientCaFile: null, mqttsPort: 8883 } });
    expect(loadConfig({}).tls).toBeNull();
    expect(() => loadConfig({ TLS_CERT: serverCert })).toThrow(/TLS_CERT and TLS_KEY go together/);
    expect(() => loadConfig({ TLS_CERT: '/nonexistent.pem', TLS_KEY: serverKey })).toThrow(/no such file/);
  });

  it('serves HTTPS, and MQTT only over TLS', async () => {
    expect(t.httpUrl.startsWith('https://')).toBe(true);
    expect((await get('/api/health')).status).toBe(200);
    expect(t.hub.mqttPort).toBe(0);
    expect(t.hub.mqttsPort).toBeGreaterThan(0);
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const client = await mqtt.connectAsync(`mqtts://localhost:${t.hub.mqttsPort}`, { clientId: dev.id, username: dev.id, password: dev.password, ca: pem(ca.cert), reconnectPeriod: 0 });
    await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 });
    await client.endAsync();
    expect((await t.api('GET', `/api/devices/${dev.id}/events`)).body).toHaveLength(1);
    // A client that does not trust the certificate gets nowhere.
    await expect(mqtt.connectAsync(`mqtts://localhost:${t.hub.mqttsPort}`, { clientId: dev.id, username: dev.id, password: dev.password, ca: pem(other.cert), reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow();
  });

  it('takes mosquitto_pub with --cafile, as a device maker would test', async () => {
    const dev = await registerDevice(t.api, 'door_lock', '0301');
    const payload = JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'forced' });
    await new Promise<void>((resolve, reject) => execFile('mosquitto_pub', [
      '-h', 'localhost', '-p', String(t.hub.mqttsPort), '--cafile', ca.cert, '-i', dev.id, '-u', dev.id, '-P', dev.password, '-q', '1', '-t', topics.events(dev.id), '-m', payload,
    ], (err, _out, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve())));
    const alarms = (await t.api('GET', `/api/alarms?deviceId=${dev.id}`)).body;
    expect(alarms[0]).toMatchObject({ type: 'door_forced' });
  });

  it('signs a device in by its client certificate, and no other', async () => {
    const dev = await registerDevice(t.api, 'gps_tracker', '0301');
    const mine = makeCert(ca, 'client-dev', dev.id);
    const client = await mqtt.connectAsync(`mqtts://localhost:${t.hub.mqttsPort}`, { clientId: dev.id, key: pem(mine.key), cert: pem(mine.cert), ca: pem(ca.cert), reconnectPeriod: 0 });
    await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'sos_pressed' }), { qos: 1 });
    await client.endAsync();
    expect((await t.api('GET', `/api/alarms?deviceId=${dev.id}`)).body[0]).toMatchObject({ type: 'sos' });
    // A certificate from another CA, or naming no device, is no way in.
    const foreign = makeCert(other, 'client-foreign', dev.id);
    await expect(mqtt.connectAsync(`mqtts://localhost:${t.hub.mqttsPort}`, { clientId: dev.id, key: pem(foreign.key), cert: pem(foreign.cert), ca: pem(ca.cert), reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow();
    const nobody = makeCert(ca, 'client-nobody', 'sa-aaaaaaaaaa');
    await expect(mqtt.connectAsync(`mqtts://localhost:${t.hub.mqttsPort}`, { clientId: 'sa-aaaaaaaaaa', key: pem(nobody.key), cert: pem(nobody.cert), ca: pem(ca.cert), reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow();
  });

  it('takes a renewed certificate without a restart', async () => {
    expect(await servedSerial(t.hub.mqttsPort as number)).toBe(Number(1001).toString(16).toUpperCase().padStart(4, '0'));
    const renewed = makeCert(ca, 'server-2', 'localhost', { server: true, serial: 2002 });
    copyFileSync(renewed.key, serverKey);
    copyFileSync(renewed.cert, serverCert);
    const want = Number(2002).toString(16).toUpperCase().padStart(4, '0');
    await eventually(async () => (await servedSerial(t.hub.mqttsPort as number)) === want, 'MQTT over TLS with the renewed certificate', 15_000);
    await eventually(async () => (await get('/api/health')).serial === want, 'HTTPS with the renewed certificate', 15_000);
  });
});
