// The conformance suite's corruption hooks for NATS: each writes bytes behind the backend's back,
// over a connection of its own, exactly where the backend stores them.
import type { CorruptionHooks } from '@baton/conformance';
import { jetstream, jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import { headers as makeHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { NatsBackend } from '../src/index.js';
import { bucketStream, encodeToken } from '../src/nats-names.js';

const GARBAGE = '\u0000{"not json';

/** Headers to carry over when rewriting a message (not the server's own). */
function copyHeaders(h: MsgHdrs | undefined): MsgHdrs {
  const out = makeHeaders();
  if (h) for (const [k, vs] of h) if (!k.startsWith('Nats-')) for (const v of vs) out.append(k, v);
  return out;
}

export function natsCorruptionHooks(connection: () => NatsConnection): CorruptionHooks<NatsBackend> {
  const kv = async (b: NatsBackend, bucket: string, key: string) => {
    const nc = connection();
    const jsm = await jetstreamManager(nc);
    const subject = `$KV.${b.prefix}_${bucket}.${key}`;
    const sm = await jsm.direct.getMessage(bucketStream(`${b.prefix}_${bucket}`), { last_by_subj: subject });
    return { nc, jsm, js: jetstream(nc), subject, sm };
  };
  return {
    async corruptTaskField(b, taskId, field) {
      const { js, subject, sm } = await kv(b, 'tasks', `t.${encodeToken(taskId)}`);
      if (!sm) throw new Error(`corruptTaskField: task ${taskId} is not stored`);
      const o = JSON.parse(new TextDecoder().decode(sm.data)) as Record<string, unknown>;
      o[field] = GARBAGE;
      await js.publish(subject, JSON.stringify(o), { headers: copyHeaders(sm.header) });
    },

    async corruptCheckpoint(b, taskId) {
      const { js, sm } = await kv(b, 'tasks', `t.${encodeToken(taskId)}`);
      const cp = sm ? ((JSON.parse(new TextDecoder().decode(sm.data)) as { cp?: { sid: string } }).cp ?? null) : null;
      if (!cp) throw new Error(`corruptCheckpoint: task ${taskId} has no checkpoint`);
      await js.publish(`$KV.${b.prefix}_checkpoints.${encodeToken(taskId)}.${cp.sid}.0`, new Uint8Array([0x1f, 0x8b, 0xff, 0x00, 0x7b, 0x22]));
    },

    async corruptTimer(b, timerId) {
      const { js, subject, sm } = await kv(b, 'timers', `t.${encodeToken(timerId)}`);
      if (!sm) throw new Error(`corruptTimer: timer ${timerId} is not stored`);
      await js.publish(subject, GARBAGE);
    },

    async corruptEvent(b, eventSeq) {
      // A stream message cannot be changed in place: rebuild the stream with the same sequences
      // (publish up to the first sequence, purge, republish every event, one with garbage).
      const nc = connection();
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const name = `${b.prefix}_events`;
      const si = await jsm.streams.info(name);
      const { first_seq: first, last_seq: last } = si.state;
      const msgs = [];
      for (let seq = first; seq <= last; seq++) msgs.push(await jsm.direct.getMessage(name, { seq }));
      await jsm.streams.delete(name);
      const { name: _n, subjects, retention, storage, num_replicas, allow_direct, duplicate_window } = si.config;
      await jsm.streams.add({ name, subjects, retention, storage, num_replicas, allow_direct, duplicate_window } as StreamConfig);
      for (let seq = 1; seq < first; seq++) await js.publish(`${b.prefix}.ev.filler`, '');
      if (first > 1) await jsm.streams.purge(name);
      for (const m of msgs) {
        if (!m) throw new Error('corruptEvent: a gap in the event stream');
        const pa = await js.publish(m.subject, m.seq === eventSeq ? GARBAGE : m.data, { headers: copyHeaders(m.header) });
        if (pa.seq !== m.seq) throw new Error(`corruptEvent: rebuilt seq ${pa.seq} for ${m.seq}`);
      }
    },

    async injectBadDelivery(b, queue) {
      const js = jetstream(connection());
      await js.publish(`${b.prefix}.r.${encodeToken(queue)}.0.${encodeToken('not-a-task')}`, GARBAGE);
    },

    async deleteTaskKeepDelivery(b, taskId) {
      const { jsm, sm } = await kv(b, 'tasks', `t.${encodeToken(taskId)}`);
      if (!sm) throw new Error(`deleteTaskKeepDelivery: task ${taskId} is not stored`);
      await jsm.streams.deleteMessage(bucketStream(`${b.prefix}_tasks`), sm.seq, false);
    },
  };
}
