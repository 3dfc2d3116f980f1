import { describe, expect, it } from 'vitest';
import { FakeClock, TrunklineError } from '../../src/shared/index.js';
import { PortPool } from '../../src/rtp/index.js';
import { bindSocket, closeSocket, freePortRange } from './rtp-test-helpers.js';

describe('PortPool', () => {
  it('binds even RTP ports with RTCP on +1, counts in use, and releases into quarantine', async () => {
    const range = await freePortRange(6);
    const clock = new FakeClock(0);
    const pool = new PortPool({ ...range, quarantineMs: 2000, clock, address: '127.0.0.1' });
    expect(pool.capacity).toBe(3);
    const a = await pool.allocate();
    const b = await pool.allocate();
    expect(a.rtpPort % 2).toBe(0);
    expect(a.rtcpPort).toBe(a.rtpPort + 1);
    expect(a.rtp.address().port).toBe(a.rtpPort);
    expect(a.rtcp?.address().port).toBe(a.rtcpPort);
    expect(new Set([a.rtpPort, b.rtpPort]).size).toBe(2);
    expect(pool.inUse).toBe(2);
    expect(pool.available).toBe(1);

    await pool.release(a);
    await pool.release(a); // idempotent
    expect(pool.inUse).toBe(1);
    expect(pool.quarantined).toBe(1);
    expect(pool.available).toBe(1);
    // The socket is really closed: the port can be bound by someone else now.
    const probe = await bindSocket(a.rtpPort);
    await closeSocket(probe);

    // Only the third pair is available; the quarantined one is not handed out.
    const c = await pool.allocate();
    expect([a.rtpPort, b.rtpPort]).not.toContain(c.rtpPort);
    await expect(pool.allocate()).rejects.toMatchObject({ code: 'CAPACITY_NO_PORTS', sipStatus: 503 });
    // After the quarantine the pair is reusable.
    clock.advance(2000);
    const d = await pool.allocate();
    expect(d.rtpPort).toBe(a.rtpPort);
    await pool.close();
    expect(pool.inUse).toBe(0);
  });

  it('skips a pair another process holds (EADDRINUSE) and reports exhaustion as a typed error', async () => {
    const range = await freePortRange(4);
    const squatter = await bindSocket(range.min + 1); // someone holds the first pair's RTCP port
    try {
      const pool = new PortPool({ ...range, quarantineMs: 1000, clock: new FakeClock(), address: '127.0.0.1' });
      const lease = await pool.allocate();
      expect(lease.rtpPort).toBe(range.min + 2);
      let err: unknown;
      try {
        await pool.allocate();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TrunklineError);
      expect((err as TrunklineError).code).toBe('CAPACITY_NO_PORTS');
      expect(pool.inUse).toBe(1);
      await pool.close();
      expect(pool.inUse).toBe(0);
    } finally {
      await closeSocket(squatter);
    }
  });

  it('binds only the RTP port when rtcp-mux is requested, and serves concurrent allocations distinctly', async () => {
    const range = await freePortRange(8);
    const pool = new PortPool({ ...range, quarantineMs: 0, clock: new FakeClock(), address: '127.0.0.1' });
    const leases = await Promise.all([pool.allocate({ rtcpMux: true }), pool.allocate(), pool.allocate(), pool.allocate()]);
    expect(leases[0].rtcp).toBeNull();
    expect(new Set(leases.map((l) => l.rtpPort)).size).toBe(4);
    await Promise.all(leases.map((l) => pool.release(l)));
    expect(pool.inUse).toBe(0);
    expect(pool.available).toBe(4);
  });

  it('rejects a range without room for a pair', () => {
    expect(() => new PortPool({ min: 30001, max: 30002, quarantineMs: 0, clock: new FakeClock() })).toThrow(RangeError);
    expect(() => new PortPool({ min: 80, max: 90, quarantineMs: 0, clock: new FakeClock() })).toThrow(RangeError);
  });
});
