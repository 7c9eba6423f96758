// The CUDA kernels of autograd_cv's GPU backend (autograd_cv/kernels/cuda.py compiles them
// with CuPy's NVRTC, one template instance per element type). One thread per output
// element; every size and geometry argument is a long long, and the thread count `total`
// comes last. Arrays are C-contiguous:
//   x (N, C, H, W); col (C * KH * KW, N * OH * OW); pooling planes (N * C, H, W).
// tests/kernels/test_cuda_source.py compiles this file with the host's C++ compiler (one
// thread at a time) and checks each kernel against the CPU kernels.

#define THREAD_INDEX ((long long)blockIdx.x * blockDim.x + threadIdx.x)

// im2col: col[(c, i, j), (n, oh, ow)] = x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw]
// (0 outside the image).
template <typename T>
__global__ void im2col(const T* x, long long channels, long long height, long long width,
                       long long kh, long long kw, long long sh, long long sw, long long ph,
                       long long pw, long long dh, long long dw, long long out_h,
                       long long out_w, long long columns, T* col, long long total) {
    const long long k = THREAD_INDEX;
    if (k >= total) return;
    const long long row = k / columns, column = k % columns;
    const long long c = row / (kh * kw), i = (row / kw) % kh, j = row % kw;
    const long long n = column / (out_h * out_w);
    const long long oh = (column / out_w) % out_h, ow = column % out_w;
    const long long h = oh * sh - ph + i * dh, w = ow * sw - pw + j * dw;
    col[k] = (h >= 0 && h < height && w >= 0 && w < width)
                 ? x[((n * channels + c) * height + h) * width + w]
                 : T(0);
}

// col2im, the adjoint of im2col: one thread per input pixel gathers every tap that read it
// (no atomics, so the sum's order is fixed).
template <typename T>
__global__ void col2im(const T* col, long long channels, long long height, long long width,
                       long long kh, long long kw, long long sh, long long sw, long long ph,
                       long long pw, long long dh, long long dw, long long out_h,
                       long long out_w, long long columns, T* x, long long total) {
    const long long k = THREAD_INDEX;
    if (k >= total) return;
    const long long n = k / (channels * height * width);
    const long long c = (k / (height * width)) % channels;
    const long long h = (k / width) % height, w = k % width;
    T sum = T(0);
    for (long long i = 0; i < kh; ++i) {
        const long long top = h + ph - i * dh;
        if (top < 0 || top % sh != 0 || top / sh >= out_h) continue;
        const long long oh = top / sh;
        for (long long j = 0; j < kw; ++j) {
            const long long left = w + pw - j * dw;
            if (left < 0 || left % sw != 0 || left / sw >= out_w) continue;
            const long long ow = left / sw;
            sum += col[((c * kh + i) * kw + j) * columns + (n * out_h + oh) * out_w + ow];
        }
    }
    x[k] = sum;
}

// Max pooling over planes (P, H, W) -> out and the flat index (h * W + w) of each maximum.
// The CPU kernel's rules: the first maximum in window order wins; a NaN wins (the first
// NaN without padding or dilation, the last one with them).
template <typename T>
__global__ void max_pool(const T* x, long long height, long long width, long long kh,
                         long long kw, long long sh, long long sw, long long ph, long long pw,
                         long long dh, long long dw, long long out_h, long long out_w, T* out,
                         long long* indices, long long total) {
    const long long k = THREAD_INDEX;
    if (k >= total) return;
    const long long p = k / (out_h * out_w), oh = (k / out_w) % out_h, ow = k % out_w;
    const long long h0 = oh * sh - ph, w0 = ow * sw - pw;
    const bool plain = ph == 0 && pw == 0 && dh == 1 && dw == 1;
    // A window wholly in the padding gives -inf, as on the CPU (the product overflows to
    // -inf by IEEE rules; no header defines INFINITY under NVRTC).
    T best = T(-1e300 * 1e300);
    long long best_index = -1;
    for (long long i = 0; i < kh; ++i) {
        const long long ih = h0 + i * dh;
        if (ih < 0 || ih >= height) continue;
        for (long long j = 0; j < kw; ++j) {
            const long long iw = w0 + j * dw;
            if (iw < 0 || iw >= width) continue;
            const T value = x[(p * height + ih) * width + iw];
            const bool is_nan = value != value;
            const bool wins = best_index < 0 || value > best ||
                              (plain ? (is_nan && best == best) : is_nan);
            if (wins) {
                best = value;
                best_index = ih * width + iw;
            }
        }
    }
    out[k] = best;
    indices[k] = best_index;
}

// The gradient of max pooling: grad_input[p, indices[p, o]] += grad_output[p, o]. Windows
// overlap when the stride is below the kernel, so the adds are atomic.
template <typename T>
__global__ void max_unpool(const T* grad_output, const long long* indices, long long size,
                           long long input_size, T* grad_input, long long total) {
    const long long k = THREAD_INDEX;
    if (k >= total) return;
    const long long index = indices[k];
    if (index >= 0 && index < input_size) {
        atomicAdd(&grad_input[(k / size) * input_size + index], grad_output[k]);
    }
}

// Average pooling over planes (P, H, W); the divisor is the whole window with
// count_include_pad, else the part of it inside the image.
template <typename T>
__global__ void avg_pool(const T* x, long long height, long long width, long long kh,
                         long long kw, long long sh, long long sw, long long ph, long long pw,
                         long long count_include_pad, long long out_h, long long out_w, T* out,
                         long long total) {
    const long long k = THREAD_INDEX;
    if (k >= total) return;
    const long long p = k / (out_h * out_w), oh = (k / out_w) % out_h, ow = k % out_w;
    const long long h_start = oh * sh - ph, w_start = ow * sw - pw;
    const long long h_lo = h_start > 0 ? h_start : 0;
    const long long h_hi = h_start + kh < height ? h_start + kh : height;
    const long long w_lo = w_start > 0 ? w_start : 0;
    const long long w_hi = w_start + kw < width ? w_start + kw : width;
    T sum = T(0);
    for (long long ih = h_lo; ih < h_hi; ++ih) {
        for (long long iw = w_lo; iw < w_hi; ++iw) sum += x[(p * height + ih) * width + iw];
    }
    const long long count = count_include_pad ? kh * kw : (h_hi - h_lo) * (w_hi - w_lo);
    out[k] = sum / T(count);
}

// The gradient of average pooling: one thread per input pixel gathers its share of every
// window that holds it (windows oh with oh * sh - ph <= ih < oh * sh - ph + kh).
template <typename T>
__global__ void avg_unpool(const T* grad_output, long long height, long long width,
                           long long kh, long long kw, long long sh, long long sw, long long ph,
                           long long pw, long long count_include_pad, long long out_h,
                           long long out_w, T* grad_input, long long total) {
    const long long k = THREAD_INDEX;
    if (k >= total) return;
    const long long p = k / (height * width), ih = (k / width) % height, iw = k % width;
    // The first window holding ih starts at or after ih + ph - kh + 1: oh >= ceil((.) / sh).
    const long long h_first = ih + ph - kh + 1, w_first = iw + pw - kw + 1;
    long long oh_lo = h_first > 0 ? (h_first + sh - 1) / sh : 0;
    long long ow_lo = w_first > 0 ? (w_first + sw - 1) / sw : 0;
    long long oh_hi = (ih + ph) / sh, ow_hi = (iw + pw) / sw;
    if (oh_hi > out_h - 1) oh_hi = out_h - 1;
    if (ow_hi > out_w - 1) ow_hi = out_w - 1;
    T sum = T(0);
    for (long long oh = oh_lo; oh <= oh_hi; ++oh) {
        const long long h_start = oh * sh - ph;
        const long long h_lo = h_start > 0 ? h_start : 0;
        const long long h_hi = h_start + kh < height ? h_start + kh : height;
        for (long long ow = ow_lo; ow <= ow_hi; ++ow) {
            const long long w_start = ow * sw - pw;
            const long long w_lo = w_start > 0 ? w_start : 0;
            const long long w_hi = w_start + kw < width ? w_start + kw : width;
            const long long count =
                count_include_pad ? kh * kw : (h_hi - h_lo) * (w_hi - w_lo);
            sum += grad_output[(p * out_h + oh) * out_w + ow] / T(count);
        }
    }
    grad_input[k] = sum;
}
