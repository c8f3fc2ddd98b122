# Row-major GEMM over the `floating` fused type, on scipy's BLAS.
#
# scipy.linalg.cython_blas hands out the Fortran (column-major) sgemm/dgemm
# of the BLAS scipy ships with, so nothing links against a system BLAS.  A
# row-major C = A @ B is the column-major C^T = B^T @ A^T: the operands and
# the sizes swap, which happens here and nowhere else.  The function is
# inline in this .pxd so every kernel module compiles its own copy (no
# cross-module C-API needed).
from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k,
                      floating alpha, const floating *a, int lda,
                      const floating *b, int ldb,
                      floating beta, floating *c, int ldc) noexcept nogil:
    """C = alpha op(A) @ op(B) + beta C, all row-major; op(A) is (m, k), op(B) (k, n), C (m, n).

    lda/ldb/ldc are row strides in elements; op(X) is X^T when trans_x.
    """
    cdef char transa = b'T' if trans_a else b'N'
    cdef char transb = b'T' if trans_b else b'N'
    cdef int i, j
    if m == 0 or n == 0:
        return
    if k == 0:  # BLAS rejects lda = 0; the product is empty, only the scaling remains
        for i in range(m):
            for j in range(n):
                c[i * ldc + j] = 0 if beta == 0 else beta * c[i * ldc + j]
        return
    if floating is float:
        sgemm(&transb, &transa, &n, &m, &k, &alpha, <float *> b, &ldb,
              <float *> a, &lda, &beta, c, &ldc)
    else:
        dgemm(&transb, &transa, &n, &m, &k, &alpha, <double *> b, &ldb,
              <double *> a, &lda, &beta, c, &ldc)
