"""A fused selective scan for training on the GPU (Triton), forward and backward.

    h_t = exp(delta_t A) h_{t-1} + delta_t u_t B_t,   y_t = <h_t, C_t> + D u_t

u, delta: [B, L, Di]; A: [Di, N]; B, C: [B, L, N]; D: [Di]; fp32. Each program owns one
sequence and a block of channels and walks along L with its [BD, N] state in registers, so
memory stays O(B L Di) instead of the O(B L Di N) of a scan in plain PyTorch. The forward
pass saves the state at every chunk start; the backward pass walks the chunks in reverse,
recomputes the states of a chunk into a per-program scratch buffer, then runs the adjoint
recurrence g_t = dy_t C_t + exp(delta_{t+1} A) g_{t+1} backwards through it.

Checked against the sequential reference (testdata/reference) and autograd in
models/train/test_scan.py (runs on the CPU through TRITON_INTERPRET=1).
"""
import torch
import triton
import triton.language as tl


@triton.jit
def _scan_fwd(u_ptr, dt_ptr, a_ptr, b_ptr, c_ptr, d_ptr, y_ptr, hs_ptr, L, DI, NCH,
              N: tl.constexpr, BD: tl.constexpr, CH: tl.constexpr):
    pb = tl.program_id(0)
    pd = tl.program_id(1)
    d = pd * BD + tl.arange(0, BD)
    n = tl.arange(0, N)
    dm = d < DI
    A = tl.load(a_ptr + d[:, None] * N + n[None, :], mask=dm[:, None], other=0.0)
    Dv = tl.load(d_ptr + d, mask=dm, other=0.0)
    h = tl.zeros((BD, N), dtype=tl.float32)
    base = pb * L * DI
    nbase = pb * L * N
    for c in range(NCH):
        tl.store(hs_ptr + ((pb * NCH + c) * DI + d[:, None]) * N + n[None, :], h, mask=dm[:, None])
        for i in range(CH):
            t = c * CH + i
            okd = dm & ((d * 0 + t) < L)
            okn = (n * 0 + t) < L
            uu = tl.load(u_ptr + base + t * DI + d, mask=okd, other=0.0)
            dd = tl.load(dt_ptr + base + t * DI + d, mask=okd, other=0.0)
            Bt = tl.load(b_ptr + nbase + t * N + n, mask=okn, other=0.0)
            Ct = tl.load(c_ptr + nbase + t * N + n, mask=okn, other=0.0)
            h = tl.exp(dd[:, None] * A) * h + (dd * uu)[:, None] * Bt[None, :]
            y = tl.sum(h * Ct[None, :], axis=1) + Dv * uu
            tl.store(y_ptr + base + t * DI + d, y, mask=okd)


@triton.jit
def _scan_bwd(u_ptr, dt_ptr, a_ptr, b_ptr, c_ptr, d_ptr, dy_ptr, hs_ptr, scr_ptr,
              du_ptr, ddt_ptr, da_ptr, db_ptr, dc_ptr, dd_ptr, L, DI, NCH, NPD,
              N: tl.constexpr, BD: tl.constexpr, CH: tl.constexpr):
    pb = tl.program_id(0)
    pd = tl.program_id(1)
    d = pd * BD + tl.arange(0, BD)
    n = tl.arange(0, N)
    dm = d < DI
    A = tl.load(a_ptr + d[:, None] * N + n[None, :], mask=dm[:, None], other=0.0)
    Dv = tl.load(d_ptr + d, mask=dm, other=0.0)
    base = pb * L * DI
    nbase = pb * L * N
    pbase = (pb * NPD + pd) * L * N  # this program's rows of the dB/dC partial sums
    scr = scr_ptr + (pb * NPD + pd) * CH * BD * N + tl.arange(0, BD)[:, None] * N + n[None, :]
    carry = tl.zeros((BD, N), dtype=tl.float32)
    dA = tl.zeros((BD, N), dtype=tl.float32)
    dDacc = tl.zeros((BD,), dtype=tl.float32)
    for cc in range(NCH):
        c = NCH - 1 - cc
        h = tl.load(hs_ptr + ((pb * NCH + c) * DI + d[:, None]) * N + n[None, :], mask=dm[:, None], other=0.0)
        for i in range(CH):  # recompute: scratch slot i holds the state before step c*CH+i
            t = c * CH + i
            okd = dm & ((d * 0 + t) < L)
            okn = (n * 0 + t) < L
            tl.store(scr + i * BD * N, h)
            uu = tl.load(u_ptr + base + t * DI + d, mask=okd, other=0.0)
            dd = tl.load(dt_ptr + base + t * DI + d, mask=okd, other=0.0)
            Bt = tl.load(b_ptr + nbase + t * N + n, mask=okn, other=0.0)
            h = tl.exp(dd[:, None] * A) * h + (dd * uu)[:, None] * Bt[None, :]
        tl.debug_barrier()
        for ii in range(CH):
            i = CH - 1 - ii
            t = c * CH + i
            okd = dm & ((d * 0 + t) < L)
            okn = (n * 0 + t) < L
            hp = tl.load(scr + i * BD * N)
            uu = tl.load(u_ptr + base + t * DI + d, mask=okd, other=0.0)
            dd = tl.load(dt_ptr + base + t * DI + d, mask=okd, other=0.0)
            g_y = tl.load(dy_ptr + base + t * DI + d, mask=okd, other=0.0)
            Bt = tl.load(b_ptr + nbase + t * N + n, mask=okn, other=0.0)
            Ct = tl.load(c_ptr + nbase + t * N + n, mask=okn, other=0.0)
            a = tl.exp(dd[:, None] * A)
            ht = a * hp + (dd * uu)[:, None] * Bt[None, :]
            tl.store(dc_ptr + pbase + t * N + n, tl.sum(g_y[:, None] * ht, axis=0), mask=okn)
            dDacc += g_y * uu
            g = g_y[:, None] * Ct[None, :] + carry
            gd = tl.sum(g * (A * a * hp + uu[:, None] * Bt[None, :]), axis=1)
            gu = g_y * Dv + tl.sum(g * Bt[None, :], axis=1) * dd
            tl.store(db_ptr + pbase + t * N + n, tl.sum(g * (dd * uu)[:, None], axis=0), mask=okn)
            dA += g * dd[:, None] * a * hp
            carry = a * g
            tl.store(du_ptr + base + t * DI + d, gu, mask=okd)
            tl.store(ddt_ptr + base + t * DI + d, gd, mask=okd)
        tl.debug_barrier()
    tl.store(da_ptr + (pb * DI + d[:, None]) * N + n[None, :], dA, mask=dm[:, None])
    tl.store(dd_ptr + pb * DI + d, dDacc, mask=dm)


BD_DEFAULT = 16
CH_DEFAULT = 64


class SelectiveScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, Bm, Cm, Dv):
        u, delta, A, Bm, Cm, Dv = (t.float().contiguous() for t in (u, delta, A, Bm, Cm, Dv))
        bsz, L, di = u.shape
        n = A.shape[1]
        ch = min(CH_DEFAULT, triton.next_power_of_2(L))
        nch = triton.cdiv(L, ch)
        y = torch.empty_like(u)
        hs = torch.empty(bsz, nch, di, n, device=u.device, dtype=torch.float32)
        grid = (bsz, triton.cdiv(di, BD_DEFAULT))
        _scan_fwd[grid](u, delta, A, Bm, Cm, Dv, y, hs, L, di, nch, N=n, BD=BD_DEFAULT, CH=ch)
        ctx.save_for_backward(u, delta, A, Bm, Cm, Dv, hs)
        ctx.ch = ch
        return y

    @staticmethod
    def backward(ctx, dy):
        u, delta, A, Bm, Cm, Dv, hs = ctx.saved_tensors
        dy = dy.float().contiguous()
        bsz, L, di = u.shape
        n = A.shape[1]
        ch = ctx.ch
        nch = hs.shape[1]
        npd = triton.cdiv(di, BD_DEFAULT)
        dev = u.device
        scratch = torch.empty(bsz, npd, ch, BD_DEFAULT, n, device=dev, dtype=torch.float32)
        du, ddelta = torch.empty_like(u), torch.empty_like(u)
        dA = torch.empty(bsz, di, n, device=dev, dtype=torch.float32)
        dB = torch.empty(bsz, npd, L, n, device=dev, dtype=torch.float32)
        dC = torch.empty(bsz, npd, L, n, device=dev, dtype=torch.float32)
        dD = torch.empty(bsz, di, device=dev, dtype=torch.float32)
        _scan_bwd[(bsz, npd)](u, delta, A, Bm, Cm, Dv, dy, hs, scratch, du, ddelta, dA, dB, dC, dD,
                              L, di, nch, npd, N=n, BD=BD_DEFAULT, CH=ch)
        return du, ddelta, dA.sum(0), dB.sum(1), dC.sum(1), dD.sum(0)


def selective_scan_triton(u, delta, A, Bm, Cm, Dv):
    return SelectiveScan.apply(u, delta, A, Bm, Cm, Dv)
