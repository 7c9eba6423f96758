// The CUDA kernels of autograd_cv's GPU backend (autograd_cv/kernels/cuda.py compiles them
// with CuPy's NVRTC, one template instance per element type). One thread per output
// element. Every size and geometry argument has the index type I: int where every array
// holds under 2**31 elements (32-bit division is several times cheaper on a GPU), else
// long long; the thread count `total` comes last. Arrays are C-contiguous:
//   x (N, C, H, W); col (C * KH * KW, N * OH * OW); pooling planes (N * C, H, W).
// tests/kernels/test_cuda_source.py compiles this file with the host's C++ compiler (one
// thread at a time) and checks each kernel against the CPU kernels.

// This thread's element k, or return when the grid's last block runs past `total`.
#define THREAD_INDEX_OR_RETURN                                                \
    const long long thread = (long long)blockIdx.x * blockDim.x + threadIdx.x; \
    if (thread >= total) return;                                              \
    const I k = (I)thread

// im2col: col[(c, i, j), (n, oh, ow)] = x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw]
// (0 outside the image).
template <typename T, typename I>
__global__ void im2col(const T* x, I channels, I height, I width, I kh, I kw, I sh, I sw, I ph,
                       I pw, I dh, I dw, I out_h, I out_w, I columns, T* col, I total) {
    THREAD_INDEX_OR_RETURN;
    const I row = k / columns, column = k % columns;
    const I c = row / (kh * kw), i = (row / kw) % kh, j = row % kw;
    const I n = column / (out_h * out_w);
    const I oh = (column / out_w) % out_h, ow = column % out_w;
    const I h = oh * sh - ph + i * dh, w = ow * sw - pw + j * dw;
    col[k] = (h >= 0 && h < height && w >= 0 && w < width)
                 ? x[((n * channels + c) * height + h) * width + w]
                 : T(0);
}

// col2im, the adjoint of im2col: one thread per input pixel gathers every tap that read it
// (no atomics, so the sum's order is fixed).
template <typename T, typename I>
__global__ void col2im(const T* col, I channels, I height, I width, I kh, I kw, I sh, I sw,
                       I ph, I pw, I dh, I dw, I out_h, I out_w, I columns, T* x, I total) {
    THREAD_INDEX_OR_RETURN;
    const I n = k / (channels * height * width);
    const I c = (k / (height * width)) % channels;
    const I h = (k / width) % height, w = k % width;
    T sum = T(0);
    for (I i = 0; i < kh; ++i) {
        const I top = h + ph - i * dh;
        if (top < 0 || top % sh != 0 || top / sh >= out_h) continue;
        const I oh = top / sh;
        for (I j = 0; j < kw; ++j) {
            const I left = w + pw - j * dw;
            if (left < 0 || left % sw != 0 || left / sw >= out_w) continue;
            const I ow = left / sw;
            sum += col[((c * kh + i) * kw + j) * columns + (n * out_h + oh) * out_w + ow];
        }
    }
    x[k] = sum;
}

// Max pooling over planes (P, H, W) -> out and the flat index (h * W + w) of each maximum.
// The CPU kernel's rules: the first maximum in window order wins; a NaN wins (the first
// NaN without padding or dilation, the last one with them).
template <typename T, typename I>
__global__ void max_pool(const T* x, I height, I width, I kh, I kw, I sh, I sw, I ph, I pw,
                         I dh, I dw, I out_h, I out_w, T* out, long long* indices, I total) {
    THREAD_INDEX_OR_RETURN;
    const I p = k / (out_h * out_w), oh = (k / out_w) % out_h, ow = k % out_w;
    const I h0 = oh * sh - ph, w0 = ow * sw - pw;
    const bool plain = ph == 0 && pw == 0 && dh == 1 && dw == 1;
    // A window wholly in the padding gives -inf, as on the CPU (the product overflows to
    // -inf by IEEE rules; no header defines INFINITY under NVRTC).
    T best = T(-1e300 * 1e300);
    I best_index = -1;
    for (I i = 0; i < kh; ++i) {
        const I ih = h0 + i * dh;
        if (ih < 0 || ih >= height) continue;
        for (I j = 0; j < kw; ++j) {
            const I iw = w0 + j * dw;
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
template <typename T, typename I>
__global__ void max_unpool(const T* grad_output, const long long* indices, I size, I input_size,
                           T* grad_input, I total) {
    THREAD_INDEX_OR_RETURN;
    const long long index = indices[k];
    if (index >= 0 && index < input_size) {
        atomicAdd(&grad_input[(k / size) * input_size + index], grad_output[k]);
    }
}

// Average pooling over planes (P, H, W); the divisor is the whole window with
// count_include_pad, else the part of it inside the image.
template <typename T, typename I>
__global__ void avg_pool(const T* x, I height, I width, I kh, I kw, I sh, I sw, I ph, I pw,
                         I count_include_pad, I out_h, I out_w, T* out, I total) {
    THREAD_INDEX_OR_RETURN;
    const I p = k / (out_h * out_w), oh = (k / out_w) % out_h, ow = k % out_w;
    const I h_start = oh * sh - ph, w_start = ow * sw - pw;
    const I h_lo = h_start > 0 ? h_start : 0;
    const I h_hi = h_start + kh < height ? h_start + kh : height;
    const I w_lo = w_start > 0 ? w_start : 0;
    const I w_hi = w_start + kw < width ? w_start + kw : width;
    T sum = T(0);
    for (I ih = h_lo; ih < h_hi; ++ih) {
        for (I iw = w_lo; iw < w_hi; ++iw) sum += x[(p * height + ih) * width + iw];
    }
    const I count = count_include_pad ? kh * kw : (h_hi - h_lo) * (w_hi - w_lo);
    out[k] = sum / T(count);
}

// The gradient of average pooling: one thread per input pixel gathers its share of every
// window that holds it (windows oh with oh * sh - ph <= ih < oh * sh - ph + kh).
template <typename T, typename I>
__global__ void avg_unpool(const T* grad_output, I height, I width, I kh, I kw, I sh, I sw,
                           I ph, I pw, I count_include_pad, I out_h, I out_w, T* grad_input,
                           I total) {
    THREAD_INDEX_OR_RETURN;
    const I p = k / (height * width), ih = (k / width) % height, iw = k % width;
    // The first window holding ih starts at or after ih + ph - kh + 1: oh >= ceil((.) / sh).
    const I h_first = ih + ph - kh + 1, w_first = iw + pw - kw + 1;
    I oh_lo = h_first > 0 ? (h_first + sh - 1) / sh : 0;
    I ow_lo = w_first > 0 ? (w_first + sw - 1) / sw : 0;
    I oh_hi = (ih + ph) / sh, ow_hi = (iw + pw) / sw;
    if (oh_hi > out_h - 1) oh_hi = out_h - 1;
    if (ow_hi > out_w - 1) ow_hi = out_w - 1;
    T sum = T(0);
    for (I oh = oh_lo; oh <= oh_hi; ++oh) {
        const I h_start = oh * sh - ph;
        const I h_lo = h_start > 0 ? h_start : 0;
        const I h_hi = h_start + kh < height ? h_start + kh : height;
        for (I ow = ow_lo; ow <= ow_hi; ++ow) {
            const I w_start = ow * sw - pw;
            const I w_lo = w_start > 0 ? w_start : 0;
            const I w_hi = w_start + kw < width ? w_start + kw : width;
            const I count =
                count_include_pad ? kh * kw : (h_hi - h_lo) * (w_hi - w_lo);
            sum += grad_output[(p * out_h + oh) * out_w + ow] / T(count);
        }
    }
    grad_input[k] = sum;
}
