// weft::io::buffered_reader and buffered_writer: buffering over any weft byte stream (Go's
// bufio.Reader / bufio.Writer, Tokio's BufReader / BufWriter). The reader frames input (lines,
// delimited records, exact byte counts) with a bounded buffer; the writer coalesces many small
// writes into few system calls.
//
//     weft::task<> serve(weft::io::tcp_stream conn) {
//         weft::io::buffered_reader in(conn);              // 8 KiB buffer, lines up to 64 KiB
//         weft::io::buffered_writer out(conn);
//         for (;;) {
//             auto line = co_await in.read_line();         // result<std::string_view>, no "\r\n"
//             if (!line) co_return;                        // end_of_stream, message_too_long, ...
//             if (!co_await out.write(*line) || !co_await out.write("\n")) co_return;
//             if (in.buffered() == 0 && !co_await out.flush()) co_return;  // pipelining
//         }
//     }
//
// Streams: tcp_stream and unix_stream, or any type with the same shape (readable_stream:
// `read(std::span<char>)` awaitable as result<size_t>, 0 = end of stream; writable_stream:
// `write_all(std::string_view)` awaitable as result<void>). Every member that does I/O is a
// weft::task, so cancellation, weft::with_timeout and the stream's deadlines apply to it.
//
// Errors: every result is [[nodiscard]]; nothing throws on I/O failure (running out of memory
// throws std::bad_alloc, as std containers do). The reader's own conditions are weft::io::errc:
//   end_of_stream     the stream ended with nothing buffered: a clean end between records;
//   unexpected_eof    the stream ended in the middle of a record (the partial record stays
//                     buffered: buffer() shows it), or before read_exact's span was full;
//   message_too_long  read_until / read_line: `limit` bytes are buffered and none is the
//                     delimiter (a peer cannot make the reader buffer more than `limit` bytes);
//                     peek(n) with n > limit.
// Any other error is the stream's (connection_reset, timed_out, operation_canceled, ...).
//
// Lifetime: a reader or writer holds a pointer to its stream, which must outlive it (and every
// await on it); both are movable (the pointer moves along). A string_view a reader returns points
// into its buffer and stays valid until the next call of a member of that reader that reads,
// peeks or consumes; copy what you keep. A writer's write(data) reads `data` until its co_await
// returns.
// Thread-safety: one task at a time per reader and per writer (as with the stream's own reads and
// writes). A reader and a writer over the same stream may be used by two tasks at once.
#pragma once

#include <weft/io/error.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <weft/io/detail/await_result.hpp>
#include <weft/runtime/detail/assert.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace weft::io {

/// A stream buffered_reader can read: `co_await s.read(std::span<char>)` gives
/// result<std::size_t>, the bytes read, 0 at end of stream.
template <class S>
concept readable_stream = requires(S& s, std::span<char> buf) {
    { detail::await_result(s.read(buf)) } -> detail::is_exactly<result<std::size_t>>;
};

/// A stream buffered_writer can write: `co_await s.write_all(std::string_view)` gives
/// result<void> once every byte is written (or the write failed).
template <class S>
concept writable_stream = requires(S& s, std::string_view data) {
    { detail::await_result(s.write_all(data)) } -> detail::is_exactly<result<void>>;
};

/// Reads a stream through a buffer of `capacity` bytes that may grow up to `limit` bytes (and
/// never beyond) when one record needs it. See the file comment for errors and lifetime.
template <readable_stream Stream>
class buffered_reader {
public:
    static constexpr std::size_t default_capacity = 8192;   ///< as Tokio's BufReader
    static constexpr std::size_t default_limit = 64 * 1024; ///< as Go's bufio.Scanner

    /// capacity: the buffer allocated at the first read (at least 1). limit: the most bytes
    /// ever buffered, so the longest record read_until / read_line accept, delimiter included;
    /// a limit below capacity is raised to capacity.
    explicit buffered_reader(
        Stream& s, std::size_t capacity = default_capacity, std::size_t limit = default_limit)
        : s_(&s)
        , initial_(capacity)
        , limit_(std::max(limit, capacity)) {
        WEFT_ASSERT(capacity > 0, "buffered_reader: capacity must be at least 1");
    }

    /// Reads until `delim` and returns the bytes up to and including it (consumed from the
    /// buffer; the view is valid until the next call). end_of_stream if the stream ends with
    /// nothing buffered, unexpected_eof if it ends after some bytes (they stay buffered),
    /// message_too_long once `limit` bytes are buffered without a delimiter (they stay buffered:
    /// consume(buffered()) skips them; a server usually answers an error and closes).
    /// Another error (a deadline, a reset) leaves what was read buffered; a later call resumes.
    task<result<std::string_view>> read_until(char delim);

    /// read_until('\n') without the line ending: "\r\n" or "\n" is stripped. The same errors;
    /// `limit` counts the ending too.
    task<result<std::string_view>> read_line();

    /// Fills all of `out`, buffered bytes first. Empty `out`: succeeds at once. unexpected_eof if
    /// the stream ends first (with nothing buffered too: a clean end is not told apart here). On
    /// an error the bytes already moved into `out` are consumed and their count is lost, as with
    /// stream_socket::read_exact. Reads of at least the capacity go straight into `out`.
    task<result<void>> read_exact(std::span<char> out);

    /// Copies buffered bytes into `out`, or, with nothing buffered, reads the stream once (into
    /// `out` directly when out.size() >= capacity). 0: end of stream (or `out` is empty).
    task<result<std::size_t>> read(std::span<char> out);

    /// Reads until at least n bytes are buffered and returns every buffered byte (so size() >=
    /// n), consuming none. At end of stream it returns what is buffered, fewer than n (maybe
    /// none): check size(). message_too_long if n > limit.
    task<result<std::string_view>> peek(std::size_t n);

    /// Drops the first n buffered bytes (n <= buffered(), else it aborts with a message).
    void consume(std::size_t n) noexcept {
        WEFT_ASSERT(n <= buffered(), "buffered_reader::consume: more than buffered()");
        begin_ += n;
    }

    /// The bytes buffered and not yet consumed, without any I/O: their count, and the bytes.
    std::size_t buffered() const noexcept { return end_ - begin_; }
    std::string_view buffer() const noexcept { return {buf_.get() + begin_, buffered()}; }

    /// The buffer's current size (capacity until a long record made it grow; never above
    /// limit()), and the limit.
    std::size_t capacity() const noexcept { return buf_ ? size_ : initial_; }
    std::size_t limit() const noexcept { return limit_; }

    /// The stream underneath (reading it directly skips the buffered bytes).
    Stream& stream() const noexcept { return *s_; }

private:
    // One read of the stream into the free space after the buffered bytes, making room first
    // (moving the buffered bytes to the front, or growing the buffer up to limit_). 0: end of
    // stream. Requires buffered() < limit_.
    task<result<std::size_t>> fill();
    // Moves min(buffered(), out.size()) bytes into out; returns the count.
    std::size_t take(std::span<char> out) noexcept {
        const std::size_t n = std::min(out.size(), buffered());
        if (n != 0) {
            std::memcpy(out.data(), buf_.get() + begin_, n);
            begin_ += n;
        }
        return n;
    }

    Stream* s_;
    std::unique_ptr<char[]> buf_; // allocated by the first fill()
    std::size_t size_ = 0;        // buf_'s size
    std::size_t initial_;
    std::size_t limit_;
    std::size_t begin_ = 0; // buffered bytes: buf_[begin_, end_)
    std::size_t end_ = 0;
};

/// Collects writes in a buffer of `capacity` bytes and writes them to the stream in one
/// write_all when the buffer would overflow, or at flush().
///
/// The destructor does NOT flush (it cannot co_await): call flush() before dropping a writer,
/// or the bytes still buffered are lost. Errors are sticky, as in Go: after a failed write_all
/// the stream's position is unknown, so every later write() and flush() fails with the same
/// error (a broken_pipe or connection_reset when the peer is gone; never a SIGPIPE with weft's
/// sockets).
template <writable_stream Stream>
class buffered_writer {
public:
    static constexpr std::size_t default_capacity = 8192;

    /// capacity: the buffer allocated at the first write (at least 1).
    explicit buffered_writer(Stream& s, std::size_t capacity = default_capacity)
        : s_(&s)
        , size_(capacity) {
        WEFT_ASSERT(capacity > 0, "buffered_writer: capacity must be at least 1");
    }

    /// Appends `data`. When it does not fit in the space left, the buffer is topped up and
    /// written out (repeatedly); with the buffer empty, what is left of a write larger than the
    /// space goes straight to the stream, uncopied. `data` is read until the co_await returns.
    task<result<void>> write(std::string_view data);

    /// Writes out everything buffered (nothing to do: succeeds at once).
    task<result<void>> flush();

    /// Bytes waiting for a flush; room left before the next write-out; the buffer's size.
    std::size_t buffered() const noexcept { return len_; }
    std::size_t available() const noexcept { return size_ - len_; }
    std::size_t capacity() const noexcept { return size_; }

    /// The sticky error of a failed write-out (empty while every write succeeded).
    std::error_code error() const noexcept { return err_; }

    /// The stream underneath (writing to it directly skips the buffered bytes).
    Stream& stream() const noexcept { return *s_; }

private:
    void append(std::string_view data) {
        if (data.empty()) {
            return;
        }
        if (!buf_) {
            buf_ = std::make_unique_for_overwrite<char[]>(size_);
        }
        std::memcpy(buf_.get() + len_, data.data(), data.size());
        len_ += data.size();
    }

    Stream* s_;
    std::unique_ptr<char[]> buf_; // allocated by the first append
    std::size_t size_;
    std::size_t len_ = 0;
    std::error_code err_;
};

// ---------------------------------------------------------------------------------------------
// Implementation.

template <readable_stream Stream>
task<result<std::size_t>> buffered_reader<Stream>::fill() {
    WEFT_ASSERT(buffered() < limit_, "buffered_reader: fill() with the buffer at its limit");
    if (begin_ == end_) {
        begin_ = end_ = 0;
    }
    if (!buf_) {
        buf_ = std::make_unique_for_overwrite<char[]>(initial_);
        size_ = initial_;
    }
    if (begin_ > 0) {
        // The unconsumed tail (usually the start of a record) moves to the front: a few bytes.
        std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (end_ == size_) {
        // Full of one unfinished record, below the limit: grow (doubling, capped).
        const std::size_t grown = std::min(limit_, std::max(size_ * 2, size_ + 1));
        auto bigger = std::make_unique_for_overwrite<char[]>(grown);
        std::memcpy(bigger.get(), buf_.get(), end_);
        buf_ = std::move(bigger);
        size_ = grown;
    }
    auto n = co_await s_->read(std::span<char>(buf_.get() + end_, size_ - end_));
    if (!n) {
        co_return n.error();
    }
    end_ += *n;
    co_return *n;
}

template <readable_stream Stream>
task<result<std::string_view>> buffered_reader<Stream>::read_until(char delim) {
    std::size_t scanned = 0; // buffered bytes known to hold no delimiter (counted from begin_)
    for (;;) {
        if (scanned < buffered()) {
            const char* base = buf_.get() + begin_;
            const void* hit = std::memchr(base + scanned, delim, buffered() - scanned);
            if (hit != nullptr) {
                const auto len = static_cast<std::size_t>(static_cast<const char*>(hit) - base) + 1;
                begin_ += len;
                co_return std::string_view(base, len);
            }
            scanned = buffered();
        }
        if (buffered() >= limit_) {
            co_return make_error_code(errc::message_too_long);
        }
        auto n = co_await fill();
        if (!n) {
            co_return n.error();
        }
        if (*n == 0) {
            co_return make_error_code(buffered() == 0 ? errc::end_of_stream : errc::unexpected_eof);
        }
    }
}

template <readable_stream Stream>
task<result<std::string_view>> buffered_reader<Stream>::read_line() {
    auto r = co_await read_until('\n');
    if (!r) {
        co_return r;
    }
    std::string_view line = *r;
    line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    co_return line;
}

template <readable_stream Stream>
task<result<void>> buffered_reader<Stream>::read_exact(std::span<char> out) {
    std::size_t done = take(out);
    while (done < out.size()) {
        const std::span<char> rest = out.subspan(done);
        if (rest.size() >= capacity()) {
            auto n = co_await s_->read(rest); // a large read: skip the copy through the buffer
            if (!n) {
                co_return n.error();
            }
            if (*n == 0) {
                co_return make_error_code(errc::unexpected_eof);
            }
            done += *n;
            continue;
        }
        auto n = co_await fill();
        if (!n) {
            co_return n.error();
        }
        if (*n == 0) {
            co_return make_error_code(errc::unexpected_eof);
        }
        done += take(rest);
    }
    co_return result<void>{};
}

template <readable_stream Stream>
task<result<std::size_t>> buffered_reader<Stream>::read(std::span<char> out) {
    if (out.empty()) {
        co_return std::size_t{0};
    }
    if (buffered() == 0) {
        if (out.size() >= capacity()) {
            co_return co_await s_->read(out);
        }
        auto n = co_await fill();
        if (!n || *n == 0) {
            co_return n;
        }
    }
    co_return take(out);
}

template <readable_stream Stream>
task<result<std::string_view>> buffered_reader<Stream>::peek(std::size_t n) {
    if (n > limit_) {
        co_return make_error_code(errc::message_too_long);
    }
    while (buffered() < n) {
        auto got = co_await fill();
        if (!got) {
            co_return got.error();
        }
        if (*got == 0) {
            break;
        }
    }
    co_return buffer();
}

template <writable_stream Stream>
task<result<void>> buffered_writer<Stream>::write(std::string_view data) {
    if (err_) {
        co_return err_;
    }
    while (data.size() > available()) {
        if (len_ == 0) {
            auto r = co_await s_->write_all(data);
            if (!r) {
                err_ = r.error();
            }
            co_return r;
        }
        const std::size_t n = available();
        append(data.substr(0, n));
        data.remove_prefix(n);
        auto r = co_await flush();
        if (!r) {
            co_return r;
        }
    }
    append(data);
    co_return result<void>{};
}

template <writable_stream Stream>
task<result<void>> buffered_writer<Stream>::flush() {
    if (err_) {
        co_return err_;
    }
    if (len_ == 0) {
        co_return result<void>{};
    }
    auto r = co_await s_->write_all(std::string_view(buf_.get(), len_));
    if (!r) {
        err_ = r.error();
        co_return r;
    }
    len_ = 0;
    co_return result<void>{};
}

} // namespace weft::io
