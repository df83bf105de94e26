/*
 * subproc.hpp: the C++17 layer over subproc.h, header-only.
 *
 *     namespace sp = subproc_cpp;
 *     std::string head = sp::check_output({"git", "rev-parse", "HEAD"});
 *
 * The namespace is subproc_cpp, not subproc: in C++ a namespace may not
 * share its name with the C type `subproc` (Popen) that subproc.h declares
 * in the global namespace.
 *
 * What it adds to the C API, and nothing else (no logic of its own, no
 * threads, no hidden waits):
 *   - ownership: process (a subproc *), completed_process (a
 *     subproc_result *) and pipeline_result free what they hold;
 *   - args: argv from {"a", "b"}, a std::vector<std::string> or any range
 *     of string-like things, copied NUL-terminated;
 *   - timeout: std::chrono durations, with the "forever" constant;
 *   - errors: error, a std::runtime_error carrying the whole subproc_error
 *     (and the CompletedProcess of a failed run, as Python's
 *     CalledProcessError and TimeoutExpired do).
 *
 * Two ways to get errors. Every call has an overload taking std::nothrow
 * first that returns result<T>: the value or the error, never throwing.
 * Without std::nothrow the call returns T and throws error; these throwing
 * overloads exist only when exceptions are on (SUBPROC_CPP_EXCEPTIONS is
 * 1: __cpp_exceptions is defined and SUBPROC_NO_EXCEPTIONS is not), so a
 * -fno-exceptions build uses the std::nothrow ones, and code that needs
 * exceptions does not compile there.
 *
 *     auto r = sp::run(std::nothrow, {"make", "-j2"});   // result<...>
 *     if (!r) std::cerr << r.error().what() << "\n";
 *
 * Options are the C struct subproc_options, passed through (by reference):
 * set its fields, or in C++20 use designated initializers in the order the
 * fields are declared in subproc.h:
 *
 *     subproc_options o{};
 *     o.capture_output = 1;
 *     o.timeout = 5;                     // seconds, the C rule (0 = none)
 *     auto cp = sp::run({"ls", "-l"}, o);
 *
 * Threads: what subproc.h says for the C objects holds for these.
 */
#ifndef SUBPROC_HPP
#define SUBPROC_HPP

#include "subproc.h"

#if (!defined(_MSVC_LANG) && __cplusplus < 201703L) ||                         \
    (defined(_MSVC_LANG) && _MSVC_LANG < 201703L)
#error "subproc.hpp needs C++17 (subproc.h alone compiles as C++11)"
#endif

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#if !defined(SUBPROC_NO_EXCEPTIONS) &&                                         \
    (defined(__cpp_exceptions) || defined(_CPPUNWIND))
#define SUBPROC_CPP_EXCEPTIONS 1
#else
#define SUBPROC_CPP_EXCEPTIONS 0
#endif

namespace subproc_cpp {

/*
 * A timeout: the C rule (SUBPROC_FOREVER 0.0 = no limit, SUBPROC_POLL
 * negative = look once) in std::chrono terms. The default is no limit
 * (also the constant subproc_cpp::forever); a positive duration waits that
 * long; zero or negative only looks, as Python's timeout=0 does (so in C++
 * 0s never means "forever").
 */
class timeout {
public:
  constexpr timeout() noexcept = default;
  template <class Rep, class Period>
  constexpr timeout(std::chrono::duration<Rep, Period> d) noexcept
      : s_(from(std::chrono::duration<double>(d).count())) {}
  static constexpr timeout forever() noexcept { return timeout(); }
  static constexpr timeout poll() noexcept {
    timeout t;
    t.s_ = SUBPROC_POLL;
    return t;
  }
  constexpr bool is_forever() const noexcept { return s_ == SUBPROC_FOREVER; }
  /* The value for the C API (and for subproc_options::timeout). */
  constexpr double c_seconds() const noexcept { return s_; }

private:
  /* NaN stays NaN: the C layer's SUBPROC_EINVAL. */
  static constexpr double from(double s) noexcept {
    return s > 0 || s != s ? s : SUBPROC_POLL;
  }
  double s_ = SUBPROC_FOREVER;
};
inline constexpr timeout forever{};

class error;
template <class T> class result;

/*
 * Python's CompletedProcess: owns a subproc_result (freed with the last
 * copy; copies share the one result, which nothing changes). Empty when
 * default-constructed; the accessors need a non-empty one.
 */
class completed_process {
public:
  completed_process() noexcept = default;
  /* Takes ownership of r (NULL: empty). */
  explicit completed_process(subproc_result *r)
      : r_(r ? std::shared_ptr<const subproc_result>(r, subproc_result_free)
             : nullptr) {}
  explicit operator bool() const noexcept { return r_ != nullptr; }

  /* The status (-N: signal N); SUBPROC_NO_RETURNCODE if unknown. */
  int returncode() const noexcept { return r_->returncode; }
  /* The captured output (binary-safe); empty if not captured. The views
   * are valid while a copy of this object lives; of a temporary
   * (sp::run(...).out()) a std::string copy is returned instead. */
  std::string_view out() const &noexcept { return view(r_->out, r_->out_len); }
  std::string_view err() const &noexcept { return view(r_->err, r_->err_len); }
  std::string out() const && { return std::string(out()); }
  std::string err() const && { return std::string(err()); }
  bool out_captured() const noexcept { return r_->out != nullptr; }
  bool err_captured() const noexcept { return r_->err != nullptr; }
  bool out_truncated() const noexcept { return r_->out_truncated != 0; }
  bool err_truncated() const noexcept { return r_->err_truncated != 0; }
  bool timed_out() const noexcept { return r_->timed_out != 0; }
  long pid() const noexcept { return r_->pid; }
  std::chrono::duration<double> duration() const noexcept {
    return std::chrono::duration<double>(r_->duration_s);
  }
  /* The argv run (after shell); views valid as out()'s. */
  std::vector<std::string_view> args() const && = delete;
  std::vector<std::string_view> args() const & {
    std::vector<std::string_view> v;
    for (const char *const *a = r_->args; a && *a; a++)
      v.emplace_back(*a);
    return v;
  }
  /* Every field, rusage and cgroup statistics included. */
  const subproc_result &c_result() const noexcept { return *r_; }

  /* CalledProcessError if the status is not 0. */
  result<void> check_returncode(std::nothrow_t) const;
#if SUBPROC_CPP_EXCEPTIONS
  void check_returncode() const;
#endif

private:
  friend class pipeline_result;
  explicit completed_process(std::shared_ptr<const subproc_result> r) noexcept
      : r_(std::move(r)) {}
  static std::string_view view(const char *p, std::size_t n) noexcept {
    return p ? std::string_view(p, n) : std::string_view();
  }
  std::shared_ptr<const subproc_result> r_;
};

/*
 * A failure: the whole subproc_error (code, step, os_errno, fd,
 * returncode, timeout, offset, path, message) and, when the call had
 * started the child, its CompletedProcess (result()): the output of a
 * command that failed its check or timed out. what() is the message. The
 * path is copied, so it stays valid as long as the error (the C struct's
 * points into the call's arguments). Copies are cheap and never throw.
 *
 * Python's exceptions are codes here: SUBPROC_ECALLED CalledProcessError,
 * SUBPROC_ETIMEDOUT TimeoutExpired, -ENOENT FileNotFoundError...
 */
class error : public std::runtime_error {
public:
  explicit error(const subproc_error &e, completed_process r = {})
      : std::runtime_error(e.message), e_(e), result_(std::move(r)) {
    if (e.path) {
      path_ = std::make_shared<const std::string>(e.path);
      e_.path = path_->c_str();
    }
  }
  int code() const noexcept { return e_.code; }
  /* "SUBPROC_ETIMEDOUT", "ENOENT", ... */
  const char *errname() const noexcept { return subproc_errname(e_.code); }
  int os_errno() const noexcept { return e_.os_errno; }
  subproc_step step() const noexcept { return e_.step; }
  const char *step_name() const noexcept { return subproc_step_name(e_.step); }
  int fd() const noexcept { return e_.fd; }
  int returncode() const noexcept { return e_.returncode; }
  std::chrono::duration<double> timeout() const noexcept {
    return std::chrono::duration<double>(e_.timeout);
  }
  long long offset() const noexcept { return e_.offset; }
  /* NULL if none. */
  const char *path() const noexcept { return e_.path; }
  const subproc_error &c_error() const noexcept { return e_; }
  /* The CompletedProcess of the failed call, or NULL. */
  const completed_process *result() const noexcept {
    return result_ ? &result_ : nullptr;
  }

private:
  subproc_error e_;
  std::shared_ptr<const std::string> path_;
  completed_process result_;
};

namespace detail {
/* The error of a call that returned rc: err as the library filled it, or,
 * for the calls that take no subproc_error, made from rc and step. */
inline error make_error(int rc, const subproc_error *err, subproc_step step,
                        completed_process r = {}) {
  subproc_error e{};
  if (err && err->code != 0) {
    e = *err;
  } else {
    e.code = rc;
    e.os_errno = rc < 0 && rc > SUBPROC_EINVAL ? -rc : 0;
    e.step = step;
    e.fd = -1;
    std::snprintf(e.message, sizeof e.message, "%s: %s",
                  subproc_step_name(step), subproc_strerror(rc));
  }
  return error(e, std::move(r));
}

[[noreturn]] inline void fail(const error &e) {
#if SUBPROC_CPP_EXCEPTIONS
  throw e;
#else
  std::fprintf(stderr, "subproc: value() of a failed result: %s\n", e.what());
  std::abort();
#endif
}

template <class R, class = void> struct is_string_range : std::false_type {};
template <class R>
struct is_string_range<
    R, std::void_t<decltype(std::begin(std::declval<const R &>()) !=
                            std::end(std::declval<const R &>()))>>
    : std::is_convertible<decltype(*std::begin(std::declval<const R &>())),
                          std::string_view> {};
} // namespace detail

/*
 * The value of a call, or its error (an expected-like type; both modes).
 * value() returns the value, or throws the error (with exceptions off it
 * prints the error and aborts, as the standard library does); * and ->
 * need ok().
 */
template <class T> class [[nodiscard]] result {
public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(subproc_cpp::error e) : v_(std::in_place_index<1>, std::move(e)) {}
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T &value() & {
    check();
    return *std::get_if<0>(&v_);
  }
  const T &value() const & {
    check();
    return *std::get_if<0>(&v_);
  }
  T &&value() && {
    check();
    return std::move(*std::get_if<0>(&v_));
  }
  T &operator*() &noexcept { return *std::get_if<0>(&v_); }
  const T &operator*() const &noexcept { return *std::get_if<0>(&v_); }
  T &&operator*() &&noexcept { return std::move(*std::get_if<0>(&v_)); }
  T *operator->() noexcept { return std::get_if<0>(&v_); }
  const T *operator->() const noexcept { return std::get_if<0>(&v_); }
  template <class U> T value_or(U &&other) const & {
    return ok() ? **this : static_cast<T>(std::forward<U>(other));
  }
  template <class U> T value_or(U &&other) && {
    return ok() ? std::move(**this) : static_cast<T>(std::forward<U>(other));
  }
  /* Needs !ok(). */
  const subproc_cpp::error &error() const noexcept {
    return *std::get_if<1>(&v_);
  }

private:
  void check() const {
    if (!ok())
      detail::fail(error());
  }
  std::variant<T, subproc_cpp::error> v_;
};

template <> class [[nodiscard]] result<void> {
public:
  result() noexcept = default;
  result(subproc_cpp::error e) : e_(std::move(e)) {}
  bool ok() const noexcept { return !e_; }
  explicit operator bool() const noexcept { return ok(); }
  void value() const {
    if (e_)
      detail::fail(*e_);
  }
  /* Needs !ok(). */
  const subproc_cpp::error &error() const noexcept { return *e_; }

private:
  std::optional<subproc_cpp::error> e_;
};

inline result<void> completed_process::check_returncode(std::nothrow_t) const {
  subproc_error e{};
  int rc = subproc_check_returncode(r_.get(), &e);
  if (rc < 0)
    return detail::make_error(rc, &e, SUBPROC_STEP_CHECK, *this);
  return {};
}
#if SUBPROC_CPP_EXCEPTIONS
inline void completed_process::check_returncode() const {
  check_returncode(std::nothrow).value();
}
#endif

/*
 * An argv: {"ls", "-l"}, a std::vector<std::string>, a std::span or array
 * of std::string_view or const char * (a NULL entry ends it, as in C), or
 * any range whose items convert to std::string_view; each item is copied
 * and NUL-terminated. An item holding a NUL byte makes the call fail with
 * SUBPROC_EINVAL, step "args" (Python: "embedded null byte").
 */
class args {
public:
  args(std::initializer_list<std::string_view> items) {
    for (std::string_view s : items)
      add(s);
  }
  template <class Range,
            std::enable_if_t<detail::is_string_range<Range>::value, int> = 0>
  args(const Range &items) {
    for (const auto &s : items) {
      if constexpr (std::is_pointer_v<std::decay_t<decltype(s)>>) {
        if (!s)
          break;
      }
      add(std::string_view(s));
    }
  }
  const std::vector<std::string> &strings() const noexcept { return items_; }
  /* For the C API: NULL-terminated, valid while this object is unchanged. */
  std::vector<const char *> c_argv() const {
    std::vector<const char *> v;
    v.reserve(items_.size() + 1);
    for (const std::string &s : items_)
      v.push_back(s.c_str());
    v.push_back(nullptr);
    return v;
  }
  /* The error the calls return for these args, if any. */
  std::optional<error> check() const {
    if (!nul_)
      return std::nullopt;
    subproc_error e{};
    e.code = SUBPROC_EINVAL;
    e.step = SUBPROC_STEP_ARGS;
    e.fd = -1;
    std::snprintf(e.message, sizeof e.message, "args: embedded null byte");
    return error(e);
  }

private:
  void add(std::string_view s) {
    nul_ = nul_ || s.find('\0') != std::string_view::npos;
    items_.emplace_back(s);
  }
  std::vector<std::string> items_;
  bool nul_ = false;
};

/*
 * Python's Popen object: owns a subproc * (move-only). Destroying it (or
 * assigning over it) does what subproc_free does: it closes the pipes and
 * releases the object, but does not kill the child or wait for it (as
 * with a discarded Popen in Python); a child still running is reaped
 * later without blocking (by a later spawn or subproc_free, or by
 * subproc_reap_orphans()), so it never stays a zombie. To end it first:
 * kill() then wait(), or close() (Python's with-block: close the pipes,
 * then wait). The calls need a non-empty process (not moved from).
 */
class process {
public:
  process() noexcept = default;
  /* Takes ownership of p. */
  explicit process(::subproc *p) noexcept : p_(p) {}
  explicit operator bool() const noexcept { return p_ != nullptr; }
  ::subproc *get() const noexcept { return p_.get(); }
  ::subproc *release() noexcept { return p_.release(); }

  long pid() const noexcept { return subproc_pid(p_.get()); }
  /* Python's returncode: none until the child is reaped. */
  std::optional<int> returncode() const noexcept {
    int rc = subproc_returncode(p_.get());
    return rc == SUBPROC_NO_RETURNCODE ? std::nullopt : std::optional<int>(rc);
  }
  /* The parent's end of stream 0, 1 or 2: an fd, -1 if not a pipe. */
  int fd(int which) const noexcept { return subproc_fd(p_.get(), which); }
  /* The same as a FILE * (owned by the process; see subproc_stream). */
  std::FILE *stream(int which) noexcept {
    return subproc_stream(p_.get(), which);
  }

  /* poll(): the status once the child has exited, else none. */
  result<std::optional<int>> poll(std::nothrow_t) {
    int status = 0;
    int rc = subproc_poll(p_.get(), &status);
    if (rc < 0)
      return detail::make_error(rc, nullptr, SUBPROC_STEP_POLL);
    return rc == 0 ? std::optional<int>() : std::optional<int>(status);
  }
  /* wait(timeout): the status; SUBPROC_ETIMEDOUT when it elapses. */
  result<int> wait(std::nothrow_t, timeout t = forever) {
    int status = 0;
    subproc_error e{};
    int rc = subproc_wait(p_.get(), t.c_seconds(), &status, &e);
    if (rc < 0)
      return detail::make_error(rc, &e, SUBPROC_STEP_WAIT);
    return status;
  }
  /* communicate(input, timeout): on SUBPROC_ETIMEDOUT the child runs on,
   * the error's result() holds the output so far, and a later call
   * continues (input only on the first call). */
  result<completed_process> communicate(std::nothrow_t,
                                        std::string_view input = {},
                                        timeout t = forever) {
    subproc_result *r = nullptr;
    subproc_error e{};
    int rc = subproc_communicate(p_.get(), input.data(), input.size(),
                                 t.c_seconds(), &r, &e);
    completed_process cp(r);
    if (rc < 0)
      return detail::make_error(rc, &e, SUBPROC_STEP_COMMUNICATE,
                                std::move(cp));
    return cp;
  }
  result<void> send_signal(std::nothrow_t, int sig) {
    return check(subproc_send_signal(p_.get(), sig), SUBPROC_STEP_KILL);
  }
  result<void> terminate(std::nothrow_t) {
    return check(subproc_terminate(p_.get()), SUBPROC_STEP_KILL);
  }
  result<void> kill(std::nothrow_t) {
    return check(subproc_kill(p_.get()), SUBPROC_STEP_KILL);
  }
  /* Close the parent's end of one pipe (stdin: flush, EOF). */
  result<void> close_stream(std::nothrow_t, int which) {
    return check(subproc_close_stream(p_.get(), which), SUBPROC_STEP_WRITE);
  }
  /* The with-block's exit: close the pipes, wait; the status. A flush
   * error (-EPIPE: the child did not read its input) comes after the
   * wait, returncode() then has the status. */
  result<int> close(std::nothrow_t) {
    int status = 0;
    int rc = subproc_close(p_.get(), &status);
    if (rc < 0)
      return detail::make_error(rc, nullptr, SUBPROC_STEP_WAIT);
    return status;
  }

#if SUBPROC_CPP_EXCEPTIONS
  std::optional<int> poll() { return poll(std::nothrow).value(); }
  int wait(timeout t = forever) { return wait(std::nothrow, t).value(); }
  completed_process communicate(std::string_view input = {},
                                timeout t = forever) {
    return communicate(std::nothrow, input, t).value();
  }
  void send_signal(int sig) { send_signal(std::nothrow, sig).value(); }
  void terminate() { terminate(std::nothrow).value(); }
  void kill() { kill(std::nothrow).value(); }
  void close_stream(int which) { close_stream(std::nothrow, which).value(); }
  int close() { return close(std::nothrow).value(); }
#endif

private:
  static result<void> check(int rc, subproc_step step) {
    if (rc < 0)
      return detail::make_error(rc, nullptr, step);
    return {};
  }
  struct deleter {
    void operator()(::subproc *p) const noexcept { subproc_free(p); }
  };
  std::unique_ptr<::subproc, deleter> p_;
};

/* Every stage's status, and the last stage's captured output. */
class pipeline_result {
public:
  pipeline_result() noexcept = default;
  /* Takes ownership of r (NULL: empty). */
  explicit pipeline_result(subproc_pipeline_result *r)
      : r_(r ? std::shared_ptr<const subproc_pipeline_result>(
                   r, subproc_pipeline_result_free)
             : nullptr) {}
  explicit operator bool() const noexcept { return r_ != nullptr; }
  std::size_t size() const noexcept { return r_->n; }
  /* pipefail: the last non-zero status, else 0. */
  int returncode() const noexcept { return r_->returncode; }
  int returncode(std::size_t stage) const noexcept {
    return r_->returncodes[stage];
  }
  std::vector<int> returncodes() const {
    return std::vector<int>(r_->returncodes, r_->returncodes + r_->n);
  }
  bool timed_out() const noexcept { return r_->timed_out != 0; }
  /* The last stage's CompletedProcess (sharing this result). */
  completed_process last() const {
    if (!r_ || !r_->last)
      return completed_process();
    return completed_process(
        std::shared_ptr<const subproc_result>(r_, r_->last));
  }
  /* The last stage's output, as completed_process::out() and err(). */
  std::string_view out() const &noexcept {
    return r_->last ? completed_process::view(r_->last->out, r_->last->out_len)
                    : std::string_view();
  }
  std::string_view err() const &noexcept {
    return r_->last ? completed_process::view(r_->last->err, r_->last->err_len)
                    : std::string_view();
  }
  std::string out() const && { return std::string(out()); }
  std::string err() const && { return std::string(err()); }
  const subproc_pipeline_result &c_result() const noexcept { return *r_; }

private:
  std::shared_ptr<const subproc_pipeline_result> r_;
};

namespace detail {
/* A C call of the run family on a, its CompletedProcess or its error
 * (which keeps the result of a failed check or a timeout). */
inline result<completed_process>
completed(int (*fn)(const char *const *, const subproc_options *,
                    subproc_result **, subproc_error *),
          const args &a, const subproc_options &o) {
  if (auto bad = a.check())
    return *bad;
  std::vector<const char *> argv = a.c_argv();
  subproc_result *r = nullptr;
  subproc_error e{};
  int rc = fn(argv.data(), &o, &r, &e);
  completed_process cp(r);
  if (rc < 0)
    return detail::make_error(rc, &e, SUBPROC_STEP_OTHER, std::move(cp));
  return cp;
}
} // namespace detail

/* ---- The calls: std::nothrow first for a result<T> ---- */

/* run(): the CompletedProcess; a failed check or a timeout is an error
 * whose result() has it. */
inline result<completed_process> run(std::nothrow_t, const args &a,
                                     const subproc_options &o = {}) {
  return detail::completed(subproc_run, a, o);
}

/* check_output(): what the child wrote to stdout. */
inline result<std::string> check_output(std::nothrow_t, const args &a,
                                        const subproc_options &o = {}) {
  result<completed_process> r = detail::completed(subproc_check_output, a, o);
  if (!r)
    return r.error();
  return std::string(r->out());
}

/* call(): the status (not an error, whatever it is). */
inline result<int> call(std::nothrow_t, const args &a,
                        const subproc_options &o = {}) {
  if (auto bad = a.check())
    return *bad;
  std::vector<const char *> argv = a.c_argv();
  int status = 0;
  subproc_error e{};
  int rc = subproc_call(argv.data(), &o, &status, &e);
  if (rc < 0)
    return detail::make_error(rc, &e, SUBPROC_STEP_OTHER);
  return status;
}

/* check_call(): SUBPROC_ECALLED (error::returncode) unless the status is 0.
 */
inline result<void> check_call(std::nothrow_t, const args &a,
                               const subproc_options &o = {}) {
  if (auto bad = a.check())
    return *bad;
  std::vector<const char *> argv = a.c_argv();
  subproc_error e{};
  int rc = subproc_check_call(argv.data(), &o, &e);
  if (rc < 0)
    return detail::make_error(rc, &e, SUBPROC_STEP_OTHER);
  return {};
}

/* Popen(args, ...): the [run] fields (input, capture_output, timeout,
 * check) are SUBPROC_EINVAL here, as subproc_popen says. */
inline result<process> popen(std::nothrow_t, const args &a,
                             const subproc_options &o = {}) {
  if (auto bad = a.check())
    return *bad;
  std::vector<const char *> argv = a.c_argv();
  ::subproc *p = nullptr;
  subproc_error e{};
  int rc = subproc_popen(argv.data(), &o, &p, &e);
  if (rc < 0)
    return detail::make_error(rc, &e, SUBPROC_STEP_POPEN);
  return process(p);
}

/* stages[0] | stages[1] | ...: o as for subproc_pipeline; stage_opts is
 * empty or one pointer (NULL: o's) per stage. A failure's result() is the
 * last stage's CompletedProcess. */
inline result<pipeline_result>
pipeline(std::nothrow_t, const std::vector<args> &stages,
         const subproc_options &o = {},
         const std::vector<const subproc_options *> &stage_opts = {}) {
  std::vector<std::vector<const char *>> argvs;
  std::vector<const char *const *> ptrs;
  argvs.reserve(stages.size());
  for (const args &a : stages) {
    if (auto bad = a.check())
      return *bad;
    argvs.push_back(a.c_argv());
    ptrs.push_back(argvs.back().data());
  }
  if (!stage_opts.empty() && stage_opts.size() != stages.size()) {
    subproc_error e{};
    e.code = SUBPROC_EINVAL;
    e.step = SUBPROC_STEP_PIPELINE;
    e.fd = -1;
    std::snprintf(e.message, sizeof e.message,
                  "pipeline: stage_opts needs one entry per stage");
    return error(e);
  }
  subproc_pipeline_result *r = nullptr;
  subproc_error e{};
  int rc = subproc_pipeline(ptrs.data(), ptrs.size(), &o,
                            stage_opts.empty() ? nullptr : stage_opts.data(),
                            &r, &e);
  pipeline_result pr(r);
  if (rc < 0)
    return detail::make_error(rc, &e, SUBPROC_STEP_PIPELINE, pr.last());
  return pr;
}

#if SUBPROC_CPP_EXCEPTIONS
/* ---- The same, throwing error ---- */
inline completed_process run(const args &a, const subproc_options &o = {}) {
  return run(std::nothrow, a, o).value();
}
inline std::string check_output(const args &a, const subproc_options &o = {}) {
  return check_output(std::nothrow, a, o).value();
}
inline int call(const args &a, const subproc_options &o = {}) {
  return call(std::nothrow, a, o).value();
}
inline void check_call(const args &a, const subproc_options &o = {}) {
  check_call(std::nothrow, a, o).value();
}
inline process popen(const args &a, const subproc_options &o = {}) {
  return popen(std::nothrow, a, o).value();
}
inline pipeline_result
pipeline(const std::vector<args> &stages, const subproc_options &o = {},
         const std::vector<const subproc_options *> &stage_opts = {}) {
  return pipeline(std::nothrow, stages, o, stage_opts).value();
}
#endif

} // namespace subproc_cpp

#endif /* SUBPROC_HPP */
