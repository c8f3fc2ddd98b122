"""The time loops of the GRU and LSTM layers, forward and backward, and their weight gradients.

Shape legend: N batch, T time steps, H hidden size, G gate rows (3H for the
GRU, 4H for the LSTM).  Arrays are batch-first, (N, T, ...); a time step's
rows are then T*G (or T*H) elements apart, which GEMM takes as its row stride.

The batch rows of a recurrent layer never meet, so each thread takes a slice
of the batch and runs the whole time loop on it alone: per step a
single-threaded GEMM of its rows with W_hh (passed transposed, (H, G): the
plain row-major product ran about 25% faster than the transposed one at these
sizes), then the fused gate kernel of
recurrent_gates.h on each row.  No thread waits for another between steps.

In float32 that GEMM is packed_gemm.h's: W_hh is packed into column panels once
per call, before the threads start, and all threads read that one copy at
every step (a BLAS call would repack it at each of the T steps, in each
thread).  float64 keeps BLAS.  set_packed_gemm_path() forces one of its
instruction-set paths.
The products over all N*T rows (the projection of the inputs of all steps, the
input and weight gradients) are packed GEMMs too in float32: packed_matmul()
(also the bare product for tests) and, for grad_weight_hh, recurrent_weight_grad.
float64 makes them with BLAS (matmul.pyx, through NativeOps.linear_forward and
linear_backward, and three calls here).
"""
from cython.parallel cimport prange
from cython cimport floating

from blas cimport gemm

cdef extern from "recurrent_gates.h" nogil:
    void hdl_gru_gates_f32(const float *projected, const float *recurrent, const float *bias_hh,
                           const float *h_prev, float *h_out, float *gates, Py_ssize_t H)
    void hdl_gru_gates_f64(const double *projected, const double *recurrent, const double *bias_hh,
                           const double *h_prev, double *h_out, double *gates, Py_ssize_t H)
    void hdl_gru_gates_backward_f32(const float *grad_output, const float *h_prev, const float *gates,
                                    float *grad_projected, float *grad_recurrent, float *carry, Py_ssize_t H)
    void hdl_gru_gates_backward_f64(const double *grad_output, const double *h_prev, const double *gates,
                                    double *grad_projected, double *grad_recurrent, double *carry, Py_ssize_t H)
    void hdl_lstm_gates_f32(const float *projected, const float *recurrent, const float *bias_hh,
                            const float *c_prev, float *h_out, float *c_out, float *gates, Py_ssize_t H)
    void hdl_lstm_gates_f64(const double *projected, const double *recurrent, const double *bias_hh,
                            const double *c_prev, double *h_out, double *c_out, double *gates, Py_ssize_t H)
    void hdl_lstm_gates_backward_f32(const float *grad_output, const float *carry, const float *c_prev,
                                     const float *c, const float *gates, float *grad_gates, float *grad_c,
                                     Py_ssize_t H)
    void hdl_lstm_gates_backward_f64(const double *grad_output, const double *carry, const double *c_prev,
                                     const double *c, const double *gates, double *grad_gates, double *grad_c,
                                     Py_ssize_t H)

cdef extern from "packed_gemm.h" nogil:
    int HDL_PACKED_SCALAR, HDL_PACKED_AVX2, HDL_PACKED_AVX512
    ctypedef void (*hdl_sgemm_packed_fn)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a, Py_ssize_t lda,
                                         Py_ssize_t a_step, const float *packed, const float *bias, int accumulate,
                                         float *c, Py_ssize_t ldc)
    size_t hdl_packed_size(Py_ssize_t k, Py_ssize_t n)
    void hdl_pack_row(const float *row, Py_ssize_t kk, Py_ssize_t k, Py_ssize_t n, float *packed)
    void hdl_pack_panels(const float *b, Py_ssize_t ldb, Py_ssize_t b_step, Py_ssize_t k, Py_ssize_t n,
                         float *packed)
    int hdl_packed_path_supported(int path)
    int hdl_packed_best_path()
    int hdl_packed_tile_rows(int path)
    hdl_sgemm_packed_fn hdl_packed_gemm_of(int path)

PACKED_GEMM_PATHS = {"scalar": HDL_PACKED_SCALAR, "avx2": HDL_PACKED_AVX2, "avx512": HDL_PACKED_AVX512}
cdef int packed_path = hdl_packed_best_path()


def packed_gemm_path_supported(str name):
    """True when this CPU can run the packed GEMM path `name` (one of PACKED_GEMM_PATHS)."""
    return bool(hdl_packed_path_supported(PACKED_GEMM_PATHS[name]))


def get_packed_gemm_path():
    return next(name for name, code in PACKED_GEMM_PATHS.items() if code == packed_path)


def set_packed_gemm_path(str name):
    """Run the float32 GEMMs (steps and all-rows products) on path `name` (the caller checks
    packed_gemm_path_supported); returns the old name."""
    global packed_path
    previous = get_packed_gemm_path()
    packed_path = PACKED_GEMM_PATHS[name]
    return previous


def packed_size(Py_ssize_t k, Py_ssize_t n):
    """Floats of a (k, n) float32 matrix packed for the step GEMMs."""
    return hdl_packed_size(k, n)


cdef inline const float *pack(const floating *b, Py_ssize_t ldb, Py_ssize_t k, Py_ssize_t n,
                              float[::1] packed) noexcept nogil:
    """B (k, n) packed into `packed` (packed_size(k, n) floats) for step_gemm; NULL in float64,
    whose step_gemm calls BLAS on b itself."""
    cdef float *start = NULL
    if floating is float:
        start = &packed[0]
        hdl_pack_panels(b, ldb, 1, k, n, start)
    return start


cdef inline void step_gemm(hdl_sgemm_packed_fn packed_gemm, const float *packed, Py_ssize_t m, Py_ssize_t n,
                           Py_ssize_t k, const floating *a, Py_ssize_t lda, const floating *b, Py_ssize_t ldb,
                           bint accumulate, floating *c, Py_ssize_t ldc) noexcept nogil:
    """C (m, n) = A (m, k) @ B (k, n), or C += when accumulate: float32 from B's copy packed by
    pack(), float64 by BLAS from b."""
    if floating is float:
        packed_gemm(m, n, k, a, lda, 1, packed, NULL, accumulate, c, ldc)
    else:
        gemm(False, False, <int> m, <int> n, <int> k, <floating> 1, a, <int> lda, b, <int> ldb,
             <floating> accumulate, c, <int> ldc)


cdef inline Py_ssize_t slice_size(Py_ssize_t total, int n_threads) noexcept nogil:
    return (total + n_threads - 1) // n_threads


cdef void packed_rows_gemm(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a, Py_ssize_t lda,
                           Py_ssize_t a_step, const float *packed, const float *bias, bint accumulate, float *c,
                           Py_ssize_t ldc, int tiles_per_block, int n_threads) noexcept nogil:
    """C (m, n) = A (m, k) @ B (+ bias), or C += when accumulate, B packed, A[i, kk] = a[i * lda + kk * a_step].

    Threads take slices of C's rows (whole register tiles), all reading the one packed B; each
    thread runs its slice in blocks of tiles_per_block register tiles, every panel of B for a
    block before the next block."""
    cdef hdl_sgemm_packed_fn packed_gemm = hdl_packed_gemm_of(packed_path)
    cdef Py_ssize_t block = hdl_packed_tile_rows(packed_path) * tiles_per_block
    cdef Py_ssize_t blocks_per_thread = slice_size(slice_size(m, block), n_threads), tid, j, i
    for tid in prange(n_threads, nogil=True, schedule='static', num_threads=n_threads):
        for j in range(blocks_per_thread):
            i = (tid * blocks_per_thread + j) * block
            if i < m:
                packed_gemm(min(block, m - i), n, k, a + i * lda, lda, a_step, packed, bias, accumulate,
                            c + i * ldc, ldc)


def packed_matmul(const float[:, :] a,          # IN  (M, K), any strides (a.T of a stored matrix too)
                  const float[:, :] b,          # IN  (K, N), any strides (b.T of a stored matrix too)
                  const float[::1] bias,        # IN  (N,) added to every row, or None
                  float[::1] packed,            # (packed_size(K, N),) scratch for b's packed copy
                  float[:, ::1] out,            # IN/OUT (M, N)
                  bint accumulate,
                  int tiles_per_block,
                  int n_threads):
    """out = a @ b (+ bias), or out += when accumulate, by the packed GEMM on the current path,
    threads taking slices of out's rows in blocks of tiles_per_block register tiles: the
    products over all N*T rows of a recurrent layer (input projection, grad_x, grad_weight_ih).
    The caller checks the shapes."""
    cdef Py_ssize_t m = out.shape[0], n = out.shape[1], k = a.shape[1]
    cdef const float *a_start = NULL   # stays NULL when k = 0: no A or B is read
    cdef float *packed_b = NULL
    cdef const float *bias_start = &bias[0] if bias is not None else NULL
    if m == 0 or n == 0:
        return
    if k > 0:
        a_start, packed_b = &a[0, 0], &packed[0]
    with nogil:
        if k > 0:
            hdl_pack_panels(&b[0, 0], b.strides[0] // 4, b.strides[1] // 4, k, n, packed_b)
        packed_rows_gemm(m, n, k, a_start, a.strides[0] // 4, a.strides[1] // 4, packed_b, bias_start, accumulate,
                         &out[0, 0], n, tiles_per_block, n_threads)


cdef inline void gru_gates(const floating *projected, const floating *recurrent, const floating *bias_hh,
                           const floating *h_prev, floating *h_out, floating *gates, Py_ssize_t H) noexcept nogil:
    if floating is float:
        hdl_gru_gates_f32(projected, recurrent, bias_hh, h_prev, h_out, gates, H)
    else:
        hdl_gru_gates_f64(projected, recurrent, bias_hh, h_prev, h_out, gates, H)


cdef inline void gru_gates_backward(const floating *grad_output, const floating *h_prev, const floating *gates,
                                    floating *grad_projected, floating *grad_recurrent, floating *carry,
                                    Py_ssize_t H) noexcept nogil:
    if floating is float:
        hdl_gru_gates_backward_f32(grad_output, h_prev, gates, grad_projected, grad_recurrent, carry, H)
    else:
        hdl_gru_gates_backward_f64(grad_output, h_prev, gates, grad_projected, grad_recurrent, carry, H)


cdef inline void lstm_gates(const floating *projected, const floating *recurrent, const floating *bias_hh,
                            const floating *c_prev, floating *h_out, floating *c_out, floating *gates,
                            Py_ssize_t H) noexcept nogil:
    if floating is float:
        hdl_lstm_gates_f32(projected, recurrent, bias_hh, c_prev, h_out, c_out, gates, H)
    else:
        hdl_lstm_gates_f64(projected, recurrent, bias_hh, c_prev, h_out, c_out, gates, H)


cdef inline void lstm_gates_backward(const floating *grad_output, const floating *carry, const floating *c_prev,
                                     const floating *c, const floating *gates, floating *grad_gates,
                                     floating *grad_c, Py_ssize_t H) noexcept nogil:
    if floating is float:
        hdl_lstm_gates_backward_f32(grad_output, carry, c_prev, c, gates, grad_gates, grad_c, H)
    else:
        hdl_lstm_gates_backward_f64(grad_output, carry, c_prev, c, gates, grad_gates, grad_c, H)


def recurrence_forward(const floating[:, :, ::1] projected,   # IN  (N, T, G) x W_ih^T + b_ih of every step
                       const floating[:, ::1] h0,             # IN  (N, H)
                       const floating[:, ::1] c0,             # IN  (N, H) LSTM; None for the GRU
                       const floating[:, ::1] weight_hh_t,    # IN  (H, G) W_hh transposed
                       const floating[::1] bias_hh,           # IN  (G,)
                       floating[:, :, ::1] output,            # OUT (N, T, H) hidden state after each step
                       floating[:, :, ::1] cells,             # OUT (N, T, H) LSTM cell states; None for the GRU
                       floating[:, :, ::1] gates,             # OUT (N, T, 4H) saved for backward
                       floating[:, ::1] scratch,              # (n_threads, >= ceil(N / n_threads) * G)
                       float[::1] packed_scratch,             # (packed_size(H, G),) float32; None in float64
                       int n_threads):
    """The time loop of a GRU (cells None: G = 3H, gates r | z | n | hn) or an LSTM (G = 4H,
    gates i | f | g | o); threads take slices of the batch."""
    cdef bint lstm = cells is not None
    cdef Py_ssize_t n = output.shape[0], t_len = output.shape[1], hidden = output.shape[2]
    cdef Py_ssize_t g = projected.shape[2], step = slice_size(n, n_threads), tid, r0, rows, t, k, ld_prev
    cdef const floating *h_prev
    cdef const floating *c_prev = NULL
    cdef hdl_sgemm_packed_fn packed_gemm = hdl_packed_gemm_of(packed_path)
    cdef const float *packed
    if n == 0 or t_len == 0 or hidden == 0:
        return
    packed = pack(&weight_hh_t[0, 0], g, hidden, g, packed_scratch)
    for tid in prange(n_threads, nogil=True, schedule='static', num_threads=n_threads):
        r0 = tid * step
        rows = min(step, n - r0)
        if rows > 0:
            for t in range(t_len):
                if t == 0:
                    h_prev = &h0[r0, 0]
                    if lstm:
                        c_prev = &c0[r0, 0]
                    ld_prev = hidden
                else:
                    h_prev = &output[r0, t - 1, 0]
                    if lstm:
                        c_prev = &cells[r0, t - 1, 0]
                    ld_prev = t_len * hidden
                step_gemm(packed_gemm, packed, rows, g, hidden, h_prev, ld_prev, &weight_hh_t[0, 0], g,
                          False, &scratch[tid, 0], g)
                for k in range(rows):
                    if lstm:
                        lstm_gates(&projected[r0 + k, t, 0], &scratch[tid, k * g], &bias_hh[0], c_prev + k * ld_prev,
                                   &output[r0 + k, t, 0], &cells[r0 + k, t, 0], &gates[r0 + k, t, 0], hidden)
                    else:
                        gru_gates(&projected[r0 + k, t, 0], &scratch[tid, k * g], &bias_hh[0], h_prev + k * ld_prev,
                                  &output[r0 + k, t, 0], &gates[r0 + k, t, 0], hidden)


def recurrence_backward(const floating[:, :, ::1] grad_output,   # IN  (N, T, H)
                        const floating[:, ::1] h0,               # IN  (N, H)
                        const floating[:, ::1] c0,               # IN  (N, H) LSTM; None for the GRU
                        const floating[:, ::1] weight_hh,        # IN  (G, H)
                        const floating[:, :, ::1] output,        # IN  (N, T, H) from recurrence_forward
                        const floating[:, :, ::1] cells,         # IN  (N, T, H) LSTM; None for the GRU
                        const floating[:, :, ::1] gates,         # IN  (N, T, 4H) from recurrence_forward
                        floating[:, :, ::1] grad_projected,      # OUT (N, T, G) of the projected inputs
                        floating[:, :, ::1] grad_recurrent,      # OUT (N, T, 3H) GRU: of W_hh h_prev + b_hh; LSTM None
                        floating[:, ::1] grad_h0,                # OUT (N, H); zero on entry
                        floating[:, ::1] grad_c0,                # IN/OUT (N, H) LSTM: the final cell's gradient in,
                                                                 #        c0's out; None for the GRU
                        float[::1] packed_scratch,               # (packed_size(G, H),) float32; None in float64
                        int n_threads):
    """Backpropagation through time of recurrence_forward; threads take slices of the batch.

    grad_h0 carries the gradient reaching the previous hidden state from step to
    step: the GRU's gate kernel leaves grad_h * z in it and the GEMM adds
    grad_recurrent @ W_hh; the LSTM's gate kernel reads it and the GEMM replaces it
    by grad_projected @ W_hh (its pre-activations take both weights), while grad_c0
    carries the cell's gradient.
    """
    cdef bint lstm = cells is not None
    cdef Py_ssize_t n = output.shape[0], t_len = output.shape[1], hidden = output.shape[2]
    cdef Py_ssize_t g = weight_hh.shape[0], step = slice_size(n, n_threads), tid, r0, rows, t, k, ld_prev
    cdef const floating *prev
    cdef floating *grad_source
    cdef hdl_sgemm_packed_fn packed_gemm = hdl_packed_gemm_of(packed_path)
    cdef const float *packed
    if n == 0 or t_len == 0 or hidden == 0:
        return
    packed = pack(&weight_hh[0, 0], hidden, g, hidden, packed_scratch)
    for tid in prange(n_threads, nogil=True, schedule='static', num_threads=n_threads):
        r0 = tid * step
        rows = min(step, n - r0)
        if rows > 0:
            for t in range(t_len - 1, -1, -1):
                # the previous state a step's gradient needs: c_prev for the LSTM, h_prev for the GRU
                if t == 0:
                    prev = &c0[r0, 0] if lstm else &h0[r0, 0]
                    ld_prev = hidden
                else:
                    prev = &cells[r0, t - 1, 0] if lstm else &output[r0, t - 1, 0]
                    ld_prev = t_len * hidden
                for k in range(rows):
                    if lstm:
                        lstm_gates_backward(&grad_output[r0 + k, t, 0], &grad_h0[r0 + k, 0], prev + k * ld_prev,
                                            &cells[r0 + k, t, 0], &gates[r0 + k, t, 0],
                                            &grad_projected[r0 + k, t, 0], &grad_c0[r0 + k, 0], hidden)
                    else:
                        gru_gates_backward(&grad_output[r0 + k, t, 0], prev + k * ld_prev, &gates[r0 + k, t, 0],
                                           &grad_projected[r0 + k, t, 0], &grad_recurrent[r0 + k, t, 0],
                                           &grad_h0[r0 + k, 0], hidden)
                grad_source = &grad_projected[r0, t, 0] if lstm else &grad_recurrent[r0, t, 0]
                step_gemm(packed_gemm, packed, rows, hidden, g, grad_source, t_len * g, &weight_hh[0, 0], hidden,
                          not lstm, &grad_h0[r0, 0], hidden)


def recurrent_weight_grad(const floating[:, :, ::1] grad_gates,   # IN  (N, T, G)
                          const floating[:, ::1] h0,              # IN  (N, H)
                          const floating[:, :, ::1] output,       # IN  (N, T, H)
                          floating[:, ::1] grad_weight,           # OUT (G, H)
                          float[::1] packed_scratch,              # (packed_size(N * T, H),) float32; None in float64
                          int tiles_per_block,                    # float32: row blocks of packed_rows_gemm
                          int n_threads):
    """grad_weight = sum over n, t of grad_gates[n, t] outer h_prev[n, t] (h0 at t = 0, else
    output[n, t-1]): grad_gates^T (G, N*T) @ h_prev (N*T, H); threads take slices of the G rows.

    float32: h_prev's rows are packed straight from h0 and output (hdl_pack_row), then one
    packed GEMM reads grad_gates transposed in place.  float64 (BLAS): flattened to N*T rows,
    h_prev of row r is output row r-1, except at t = 0; so one GEMM over the shifted rows,
    minus the N-1 wrong pairs (grad_gates[n, 0] with output[n-1, T-1]), plus the N pairs with h0.
    """
    cdef Py_ssize_t n = grad_gates.shape[0], t_len = grad_gates.shape[1], g = grad_gates.shape[2]
    cdef Py_ssize_t hidden = h0.shape[1], step = slice_size(g, n_threads), tid, g0, rows, i, t
    if g == 0 or hidden == 0:
        return
    if n == 0 or t_len == 0:
        grad_weight[...] = 0
        return
    if floating is float:
        with nogil:
            for i in range(n):
                hdl_pack_row(&h0[i, 0], i * t_len, n * t_len, hidden, &packed_scratch[0])
                for t in range(1, t_len):
                    hdl_pack_row(&output[i, t - 1, 0], i * t_len + t, n * t_len, hidden, &packed_scratch[0])
            packed_rows_gemm(g, hidden, n * t_len, &grad_gates[0, 0, 0], 1, g, &packed_scratch[0], NULL, False,
                             &grad_weight[0, 0], hidden, tiles_per_block, n_threads)
    else:
        for tid in prange(n_threads, nogil=True, schedule='static', num_threads=n_threads):
            g0 = tid * step
            rows = min(step, g - g0)
            if rows > 0:
                gemm(True, False, <int> rows, <int> hidden, <int> (n * t_len - 1), <floating> 1,
                     &grad_gates[0, 0, g0] + g, <int> g, &output[0, 0, 0], <int> hidden,
                     <floating> 0, &grad_weight[g0, 0], <int> hidden)
                if n > 1:
                    gemm(True, False, <int> rows, <int> hidden, <int> (n - 1), <floating> -1,
                         &grad_gates[1, 0, g0], <int> (t_len * g), &output[0, t_len - 1, 0], <int> (t_len * hidden),
                         <floating> 1, &grad_weight[g0, 0], <int> hidden)
                gemm(True, False, <int> rows, <int> hidden, <int> n, <floating> 1, &grad_gates[0, 0, g0],
                     <int> (t_len * g), &h0[0, 0], <int> hidden, <floating> 1, &grad_weight[g0, 0], <int> hidden)


def embedding_forward(const floating[:, ::1] weight,   # IN  (V, D)
                      const long long[::1] indices,    # IN  (M,) rows of weight to read
                      floating[:, ::1] out,            # OUT (M, D)
                      int n_threads):
    """out[m] = weight[indices[m]]; returns how many indices were outside [0, V) (their rows left unset).
    Threads take slices of the M rows."""
    cdef Py_ssize_t m = indices.shape[0], d = weight.shape[1], v = weight.shape[0], i, j, row
    cdef Py_ssize_t n_bad = 0
    for i in prange(m, nogil=True, schedule='static', num_threads=n_threads):
        row = indices[i]
        if row < 0 or row >= v:
            n_bad += 1
        else:
            for j in range(d):
                out[i, j] = weight[row, j]
    return n_bad


def embedding_backward(const floating[:, ::1] grad_rows,   # IN  (M, D) gradient of each looked-up row
                       const long long[::1] indices,       # IN  (M,) the row each came from
                       floating[:, ::1] grad_weight,       # OUT (V, D)
                       floating[:, :, ::1] partial,        # (n_threads - 1, V, D) scratch; (0, V, D) for one thread
                       int n_threads):
    """grad_weight[v] = sum of grad_rows[m] over m with indices[m] = v; returns how many indices
    were outside [0, V) (skipped).  Threads take slices of the M rows, reading them in order: thread 0
    adds into grad_weight, thread t > 0 into partial[t - 1], and those are added in at the end."""
    cdef Py_ssize_t m = grad_rows.shape[0], d = grad_rows.shape[1], v = grad_weight.shape[0], i, j, row
    cdef Py_ssize_t step = slice_size(m, n_threads), tid, k
    cdef floating *target
    cdef Py_ssize_t n_bad = 0
    for tid in prange(n_threads, nogil=True, schedule='static', num_threads=n_threads):
        target = &grad_weight[0, 0] if tid == 0 else &partial[tid - 1, 0, 0]
        for k in range(v * d):
            target[k] = 0
        for i in range(tid * step, min(m, (tid + 1) * step)):
            row = indices[i]
            if row < 0 or row >= v:
                n_bad += 1
            else:
                for j in range(d):
                    target[row * d + j] += grad_rows[i, j]
    for tid in range(n_threads - 1):
        for row in prange(v, nogil=True, schedule='static', num_threads=n_threads):
            for j in range(d):
                grad_weight[row, j] += partial[tid, row, j]
    return n_bad
