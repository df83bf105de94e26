/* The C++ layer (include/subproc.hpp) with real children. Built several
 * times by tests/cpp/CMakeLists.txt: g++ and clang++, -std=c++17 and
 * c++20, and with -fno-exceptions. `test_cpp NAME` runs one case and
 * checks that it left no fd and no child behind; `--list` lists the cases
 * compiled in; `--verify-list NAME...` checks them against what CMake
 * registered.
 *
 * Case markers, read by CMake at the start of a line:
 *   CASE(name)        every build
 *   CASE_EXC(name)    builds with exceptions (wrap the body in
 *                     #if SUBPROC_CPP_EXCEPTIONS)
 *   CASE_CXX20(name)  -std=c++20 builds (wrap in #if __cplusplus >= 202002L)
 */
#include <subproc.hpp>

#include <array>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <list>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace sp = subproc_cpp;
using namespace std::chrono_literals;

/* The mode really is the one the compiler flags ask for. */
#if defined(__cpp_exceptions) != SUBPROC_CPP_EXCEPTIONS
#error "SUBPROC_CPP_EXCEPTIONS does not follow __cpp_exceptions"
#endif

/* ---- the harness ---- */

namespace {

struct test_case {
  const char *name;
  void (*fn)();
};
std::vector<test_case> &cases() {
  static std::vector<test_case> v;
  return v;
}
struct registrar {
  registrar(const char *name, void (*fn)()) { cases().push_back({name, fn}); }
};

double slowdown = 1.0;
/* An upper bound on a duration: scaled by SUBPROC_TEST_SLOWDOWN. */
double slow(double seconds) { return seconds * slowdown; }

double now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, nullptr);
}

[[noreturn]] void fail(const char *file, int line, const std::string &what) {
  std::cerr << file << ":" << line << ": " << what << std::endl;
  std::exit(1);
}

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

template <class T> std::string show(const T &v) {
  std::ostringstream s;
  if constexpr (is_optional<T>::value) {
    return v ? show(*v) : std::string("nullopt");
  } else if constexpr (std::is_convertible_v<const T &, std::string_view>) {
    s << '"';
    for (char c : std::string_view(v)) {
      if (c == '\n')
        s << "\\n";
      else if (c == '\0')
        s << "\\0";
      else
        s << c;
    }
    s << '"';
  } else {
    s << v;
  }
  return s.str();
}

std::vector<int> open_fds() {
  std::vector<int> fds;
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return fds;
  while (dirent *e = readdir(d))
    if (e->d_name[0] != '.' && std::atoi(e->d_name) != dirfd(d))
      fds.push_back(std::atoi(e->d_name));
  closedir(d);
  return fds;
}

/* 1 if a child of ours exists (running, or exited and not reaped). */
bool children_left() {
  siginfo_t si{};
  return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

} // namespace

#define CASE_DEFINE_(name)                                                     \
  static void case_##name();                                                   \
  static const registrar reg_##name(#name, case_##name);                       \
  static void case_##name()
/* A case of another build: compiled, not registered. */
#define CASE_UNUSED_(name) [[maybe_unused]] static void case_##name()
#define CASE(name) CASE_DEFINE_(name)
#if SUBPROC_CPP_EXCEPTIONS
#define CASE_EXC(name) CASE_DEFINE_(name)
#else
#define CASE_EXC(name) CASE_UNUSED_(name)
#endif
#if __cplusplus >= 202002L
#define CASE_CXX20(name) CASE_DEFINE_(name)
#else
#define CASE_CXX20(name) CASE_UNUSED_(name)
#endif

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond))                                                               \
      fail(__FILE__, __LINE__, "CHECK(" #cond ") failed");                     \
  } while (0)
#define CHECK_EQ(a, b)                                                         \
  do {                                                                         \
    const auto &a_ = (a);                                                      \
    const auto &b_ = (b);                                                      \
    if (!(a_ == b_))                                                           \
      fail(__FILE__, __LINE__,                                                 \
           "CHECK_EQ(" #a ", " #b "): " + show(a_) + " != " + show(b_));       \
  } while (0)
/* expr is a failed result<T>: its error has this code. */
#define CHECK_ERR(expr, want)                                                  \
  do {                                                                         \
    const auto &r_ = (expr);                                                   \
    if (r_.ok())                                                               \
      fail(__FILE__, __LINE__, #expr " succeeded, expected " #want);           \
    CHECK_EQ(r_.error().code(), (want));                                       \
  } while (0)
/* expr is a result<T> that succeeded. */
#define CHECK_OK(expr)                                                         \
  do {                                                                         \
    const auto &r_ = (expr);                                                   \
    if (!r_.ok())                                                              \
      fail(__FILE__, __LINE__,                                                 \
           #expr " failed: " + std::string(r_.error().what()));                \
  } while (0)

namespace {
subproc_options capture() {
  subproc_options o{};
  o.capture_output = 1;
  return o;
}
} // namespace

/* ---- the cases ---- */

CASE(run_capture) {
  auto r = sp::run(std::nothrow,
                   {"sh", "-c", "printf out; printf 'e\\000r' >&2; exit 3"},
                   capture());
  CHECK_OK(r);
  const sp::completed_process &cp = *r;
  CHECK_EQ(cp.returncode(), 3);
  CHECK_EQ(cp.out(), std::string_view("out"));
  CHECK_EQ(cp.err(), std::string_view("e\0r", 3)); /* binary-safe */
  CHECK(cp.out_captured() && cp.err_captured());
  CHECK(!cp.timed_out() && !cp.out_truncated());
  CHECK(cp.pid() > 0);
  CHECK(cp.duration() >= 0s);
  std::vector<std::string_view> args = cp.args();
  CHECK_EQ(args.size(), 3u);
  CHECK_EQ(args[0], std::string_view("sh"));
  CHECK_EQ(cp.c_result().returncode, 3);
  /* Not captured: empty views. */
  auto plain = sp::run(std::nothrow, {"true"});
  CHECK_OK(plain);
  CHECK(!plain->out_captured());
  CHECK(plain->out().empty() && plain->out().data() == nullptr);
  /* Copies share the one result. */
  sp::completed_process copy = cp;
  CHECK_EQ(copy.out().data(), cp.out().data());
}

CASE(run_args_ranges) {
  /* Each argument arrives verbatim: no shell between us and the child. */
  const char *script = "for a; do printf '[%s]' \"$a\"; done";
  std::string want = "[a b][$HOME][][q'uote]";
  std::vector<std::string> vec{"sh",  "-c",    script, "sh",
                               "a b", "$HOME", "",     "q'uote"};
  std::list<std::string_view> list(vec.begin(), vec.end());
  std::array<const char *, 9> arr{"sh",    "-c", script,   "sh",   "a b",
                                  "$HOME", "",   "q'uote", nullptr};
  std::string s4 = "q'uote";
  auto a = sp::check_output(std::nothrow, vec);
  auto b = sp::check_output(std::nothrow, list);
  auto c = sp::check_output(std::nothrow, arr); /* NULL ends it, as in C */
  auto d = sp::check_output(std::nothrow, {"sh", "-c", script, "sh", "a b",
                                           "$HOME", std::string_view(), s4});
  for (auto *r : {&a, &b, &c, &d}) {
    CHECK_OK(*r);
    CHECK_EQ(**r, want);
  }
  /* The args object itself: the C view is NULL-terminated. */
  sp::args args(vec);
  CHECK_EQ(args.strings().size(), vec.size());
  std::vector<const char *> argv = args.c_argv();
  CHECK_EQ(argv.size(), vec.size() + 1);
  CHECK(argv.back() == nullptr);
  CHECK_EQ(std::string(argv[4]), std::string("a b"));
}

CASE(args_embedded_nul) {
  std::string_view bad("ec\0ho", 5);
  auto r = sp::run(std::nothrow, {bad});
  CHECK_ERR(r, SUBPROC_EINVAL);
  CHECK_EQ(r.error().step(), SUBPROC_STEP_ARGS);
  CHECK_EQ(std::string(r.error().what()),
           std::string("args: embedded null byte"));
  CHECK_ERR(sp::popen(std::nothrow, {"echo", bad}), SUBPROC_EINVAL);
  CHECK_ERR(sp::check_output(std::nothrow, {"echo", bad}), SUBPROC_EINVAL);
  CHECK_ERR(sp::call(std::nothrow, {"echo", bad}), SUBPROC_EINVAL);
  CHECK_ERR(sp::check_call(std::nothrow, {"echo", bad}), SUBPROC_EINVAL);
  CHECK_ERR(sp::pipeline(std::nothrow, {{"true"}, {"echo", bad}}),
            SUBPROC_EINVAL);
}

CASE(error_exec_enoent) {
  sp::result<sp::completed_process> r = [] {
    std::string prog = "/nonexistent/subproc-cpp-test";
    return sp::run(std::nothrow, {prog, "arg"});
  }(); /* the argv (and the string) are gone: the path is the error's */
  CHECK_ERR(r, -ENOENT);
  const sp::error &e = r.error();
  CHECK_EQ(std::string(e.errname()), std::string("ENOENT"));
  CHECK_EQ(e.os_errno(), ENOENT);
  CHECK_EQ(e.step(), SUBPROC_STEP_EXEC);
  CHECK_EQ(std::string(e.step_name()), std::string("exec"));
  CHECK(e.path() != nullptr);
  CHECK_EQ(std::string(e.path()), std::string("/nonexistent/subproc-cpp-test"));
  CHECK_EQ(std::string(e.what()), std::string(e.c_error().message));
  CHECK(e.c_error().path == e.path());
  CHECK(std::string(e.what()).find("No such file") != std::string::npos);
  /* A copy outlives the original, path included. */
  std::optional<sp::error> copy;
  {
    sp::error original = e;
    copy = original;
  }
  CHECK_EQ(std::string(copy->path()), std::string(e.path()));
  static_assert(std::is_nothrow_copy_constructible_v<sp::error>);
  static_assert(std::is_base_of_v<std::runtime_error, sp::error>);
}

CASE(run_check_called) {
  subproc_options o = capture();
  o.check = 1;
  auto r = sp::run(std::nothrow, {"sh", "-c", "echo partial; exit 5"}, o);
  CHECK_ERR(r, SUBPROC_ECALLED);
  CHECK_EQ(r.error().returncode(), 5);
  CHECK(std::string(r.error().what()).find("non-zero exit status 5") !=
        std::string::npos);
  /* The output of the failed command, as on CalledProcessError. */
  CHECK(r.error().result() != nullptr);
  CHECK_EQ(r.error().result()->out(), std::string_view("partial\n"));
  CHECK_EQ(r.error().result()->returncode(), 5);
  /* check_returncode() on a result. */
  auto ok = sp::run(std::nothrow, {"sh", "-c", "exit 6"});
  CHECK_OK(ok);
  auto checked = ok->check_returncode(std::nothrow);
  CHECK_ERR(checked, SUBPROC_ECALLED);
  CHECK_EQ(checked.error().returncode(), 6);
  auto zero = sp::run(std::nothrow, {"true"});
  CHECK_OK(zero);
  CHECK_OK(zero->check_returncode(std::nothrow));
}

CASE(run_timeout) {
  subproc_options o = capture();
  o.timeout = sp::timeout(300ms).c_seconds();
  double start = now();
  auto r = sp::run(std::nothrow, {"sh", "-c", "echo begun; exec sleep 30"}, o);
  double took = now() - start;
  CHECK_ERR(r, SUBPROC_ETIMEDOUT);
  CHECK(took >= 0.3);
  CHECK(took < slow(20));
  CHECK(std::fabs(r.error().timeout().count() - 0.3) < 1e-9);
  CHECK(r.error().result() != nullptr);
  CHECK(r.error().result()->timed_out());
}

CASE(check_output_call) {
  auto out = sp::check_output(std::nothrow, {"echo", "hello"});
  CHECK_OK(out);
  CHECK_EQ(*out, std::string("hello\n"));
  auto failed =
      sp::check_output(std::nothrow, {"sh", "-c", "echo so-far; exit 2"});
  CHECK_ERR(failed, SUBPROC_ECALLED);
  CHECK_EQ(failed.error().returncode(), 2);
  CHECK(failed.error().result() != nullptr);
  CHECK_EQ(failed.error().result()->out(), std::string_view("so-far\n"));

  auto status = sp::call(std::nothrow, {"sh", "-c", "exit 7"});
  CHECK_OK(status);
  CHECK_EQ(*status, 7); /* a status is not an error */
  CHECK_ERR(sp::call(std::nothrow, {"/nonexistent/x"}), -ENOENT);
  CHECK_OK(sp::check_call(std::nothrow, {"true"}));
  auto cc = sp::check_call(std::nothrow, {"false"});
  CHECK_ERR(cc, SUBPROC_ECALLED);
  CHECK_EQ(cc.error().returncode(), 1);
}

CASE(popen_communicate) {
  subproc_options o{};
  o.in = SUBPROC_REDIRECT_PIPE;
  o.out = SUBPROC_REDIRECT_PIPE;
  auto p = sp::popen(std::nothrow, {"cat"}, o);
  CHECK_OK(p);
  CHECK(p->pid() > 0);
  CHECK(!p->returncode().has_value());
  std::string_view input("da\0ta", 5);
  auto r = p->communicate(std::nothrow, input);
  CHECK_OK(r);
  CHECK_EQ(r->out(), input);
  CHECK_EQ(r->returncode(), 0);
  CHECK_EQ(p->returncode(), std::optional<int>(0));
  /* A later call returns the same output again. */
  auto again = p->communicate(std::nothrow);
  CHECK_OK(again);
  CHECK_EQ(again->out(), input);
}

CASE(popen_refuses_run_fields) {
  subproc_options o{};
  o.capture_output = 1; /* [run] only: SUBPROC_EINVAL naming the field */
  auto p = sp::popen(std::nothrow, {"true"}, o);
  CHECK_ERR(p, SUBPROC_EINVAL);
  CHECK_EQ(p.error().step(), SUBPROC_STEP_CAPTURE_OUTPUT);
}

CASE(popen_wait_poll_signals) {
  auto p = sp::popen(std::nothrow, {"sleep", "30"});
  CHECK_OK(p);
  auto polled = p->poll(std::nothrow);
  CHECK_OK(polled);
  CHECK(!polled->has_value());
  double start = now();
  auto w = p->wait(std::nothrow, 50ms);
  CHECK_ERR(w, SUBPROC_ETIMEDOUT);
  CHECK(now() - start >= 0.05);
  /* 0s and timeout::poll() look once (Python's wait(timeout=0)). */
  start = now();
  CHECK_ERR(p->wait(std::nothrow, 0s), SUBPROC_ETIMEDOUT);
  CHECK_ERR(p->wait(std::nothrow, sp::timeout::poll()), SUBPROC_ETIMEDOUT);
  CHECK(now() - start < slow(5));
  CHECK_OK(p->terminate(std::nothrow));
  auto status = p->wait(std::nothrow);
  CHECK_OK(status);
  CHECK_EQ(*status, -SIGTERM);
  CHECK_EQ(p->returncode(), std::optional<int>(-SIGTERM));
  auto after = p->poll(std::nothrow);
  CHECK_OK(after);
  CHECK_EQ(*after, std::optional<int>(-SIGTERM));
  /* Signals after the reap are no-ops, as in Python. */
  CHECK_OK(p->kill(std::nothrow));

  auto q = sp::popen(std::nothrow, {"sleep", "30"});
  CHECK_OK(q);
  CHECK_OK(q->send_signal(std::nothrow, SIGUSR1));
  CHECK_EQ(q->wait(std::nothrow).value_or(0), -SIGUSR1);
  auto k = sp::popen(std::nothrow, {"sleep", "30"});
  CHECK_OK(k);
  CHECK_OK(k->kill(std::nothrow));
  CHECK_EQ(k->wait(std::nothrow, 30s).value_or(0), -SIGKILL);
}

CASE(communicate_timeout_continues) {
  subproc_options o{};
  o.out = SUBPROC_REDIRECT_PIPE;
  auto p =
      sp::popen(std::nothrow, {"sh", "-c", "printf begun; exec sleep 30"}, o);
  CHECK_OK(p);
  /* Each timeout hands back the output so far; the child runs on. */
  std::string_view so_far;
  sp::completed_process keep;
  for (double end = now() + slow(30); so_far.empty() && now() < end;) {
    auto r = p->communicate(std::nothrow, {}, 50ms);
    CHECK_ERR(r, SUBPROC_ETIMEDOUT);
    CHECK(r.error().result() != nullptr);
    keep = *r.error().result();
    so_far = keep.out();
  }
  CHECK_EQ(so_far, std::string_view("begun"));
  CHECK(!p->returncode().has_value());
  CHECK_OK(p->kill(std::nothrow));
  auto r = p->communicate(std::nothrow);
  CHECK_OK(r);
  CHECK_EQ(r->out(), std::string_view("begun")); /* nothing lost */
  CHECK_EQ(r->returncode(), -SIGKILL);
}

CASE(close_stream_and_fd) {
  subproc_options o{};
  o.in = SUBPROC_REDIRECT_PIPE;
  o.out = SUBPROC_REDIRECT_PIPE;
  auto p = sp::popen(std::nothrow, {"cat"}, o);
  CHECK_OK(p);
  CHECK(p->fd(0) >= 0);
  CHECK(p->fd(1) >= 0);
  CHECK_EQ(p->fd(2), -1);
  CHECK_EQ(write(p->fd(0), "x", 1), static_cast<ssize_t>(1));
  CHECK_OK(p->close_stream(std::nothrow, 0));
  CHECK_EQ(p->fd(0), -1);
  std::FILE *f = p->stream(1);
  CHECK(f != nullptr);
  CHECK_EQ(std::fgetc(f), static_cast<int>('x'));
  CHECK_EQ(std::fgetc(f), EOF);
  CHECK_EQ(p->wait(std::nothrow).value_or(-1), 0);
}

CASE(close_waits) {
  subproc_options o{};
  o.out = SUBPROC_REDIRECT_PIPE;
  auto p = sp::popen(std::nothrow, {"sh", "-c", "exit 4"}, o);
  CHECK_OK(p);
  auto status = p->close(std::nothrow); /* Python's with-block exit */
  CHECK_OK(status);
  CHECK_EQ(*status, 4);
  CHECK_EQ(p->returncode(), std::optional<int>(4));
}

CASE(process_move_only) {
  static_assert(!std::is_copy_constructible_v<sp::process>);
  static_assert(!std::is_copy_assignable_v<sp::process>);
  static_assert(std::is_nothrow_move_constructible_v<sp::process>);
  static_assert(std::is_nothrow_move_assignable_v<sp::process>);
  auto r = sp::popen(std::nothrow, {"sh", "-c", "exit 3"});
  CHECK_OK(r);
  sp::process p = std::move(*r);
  CHECK(p);
  CHECK(!*r); /* moved from: empty */
  sp::process q;
  CHECK(!q && q.get() == nullptr);
  q = std::move(p);
  CHECK(q && !p);
  CHECK_EQ(q.wait(std::nothrow).value_or(-1), 3);
  /* Assigning over a process frees the old one (reaped: nothing left). */
  auto other = sp::popen(std::nothrow, {"true"});
  CHECK_OK(other);
  CHECK_EQ(other->wait(std::nothrow).value_or(-1), 0);
  subproc *raw = q.get();
  q = std::move(*other);
  CHECK(q.get() != raw);
  CHECK_EQ(q.returncode(), std::optional<int>(0));
  /* release() hands the C object back. */
  subproc *c = q.release();
  CHECK(!q);
  CHECK_EQ(subproc_returncode(c), 0);
  subproc_free(c);
}

CASE(destructor_does_not_kill) {
  long pid = 0;
  {
    auto p = sp::popen(std::nothrow, {"sleep", "30"});
    CHECK_OK(p);
    pid = p->pid();
  } /* subproc_free: not killed, not waited for */
  CHECK(pid > 0);
  CHECK_EQ(::kill(static_cast<pid_t>(pid), 0), 0);
  siginfo_t si{};
  CHECK_EQ(
      waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT),
      0);
  CHECK_EQ(si.si_pid, 0); /* still running */
  /* Once it has exited the library reaps it: no zombie is left. */
  CHECK_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
  int left = 1;
  for (double end = now() + slow(30);
       (left = subproc_reap_orphans()) > 0 && now() < end;)
    sleep_ms(10);
  CHECK_EQ(left, 0);
  CHECK(!children_left());
}

CASE(destructor_reaps_exited) {
  long pid = 0;
  {
    auto p = sp::popen(std::nothrow, {"true"});
    CHECK_OK(p);
    pid = p->pid();
    /* Wait for the exit without reaping, then drop the object. */
    siginfo_t si{};
    CHECK_EQ(waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOWAIT), 0);
  }
  CHECK(!children_left()); /* reaped by the destructor */
  CHECK_EQ(subproc_reap_orphans(), 0);
}

CASE(pipeline_stages) {
  auto r = sp::pipeline(std::nothrow,
                        {{"printf", "a\\nb\\nc\\n"}, {"grep", "b"}}, capture());
  CHECK_OK(r);
  CHECK_EQ(r->size(), 2u);
  CHECK_EQ(r->out(), std::string_view("b\n"));
  CHECK_EQ(r->returncodes().size(), 2u);
  CHECK_EQ(r->returncodes()[0] + r->returncodes()[1], 0);
  CHECK_EQ(r->returncode(), 0);
  sp::completed_process last = r->last();
  CHECK(last);
  CHECK_EQ(last.out(), std::string_view("b\n"));
  /* pipefail */
  auto pf = sp::pipeline(std::nothrow, {{"sh", "-c", "exit 3"}, {"cat"}});
  CHECK_OK(pf);
  CHECK_EQ(pf->returncode(), 3);
  CHECK_EQ(pf->returncode(0), 3);
  CHECK_EQ(pf->returncode(1), 0);
  CHECK(pf->last());
  CHECK(!pf->last().out_captured()); /* nothing captured */
  CHECK(pf->out().empty());
  /* check: the failure carries the last stage's output */
  subproc_options o = capture();
  o.check = 1;
  auto ck =
      sp::pipeline(std::nothrow, {{"sh", "-c", "echo x; exit 4"}, {"cat"}}, o);
  CHECK_ERR(ck, SUBPROC_ECALLED);
  CHECK(ck.error().result() != nullptr);
  CHECK_EQ(ck.error().result()->out(), std::string_view("x\n"));
  /* Stage options: one pointer per stage, NULL for the pipeline's. */
  subproc_options root{};
  root.cwd = "/";
  std::vector<const subproc_options *> stage_opts{&root, nullptr};
  auto st =
      sp::pipeline(std::nothrow, {{"pwd"}, {"cat"}}, capture(), stage_opts);
  CHECK_OK(st);
  CHECK_EQ(st->out(), std::string_view("/\n"));
  auto bad = sp::pipeline(std::nothrow, {{"pwd"}, {"cat"}}, capture(), {&root});
  CHECK_ERR(bad, SUBPROC_EINVAL);
  CHECK_EQ(bad.error().step(), SUBPROC_STEP_PIPELINE);
}

CASE(result_type) {
  sp::result<int> five = 5;
  CHECK(five.ok() && static_cast<bool>(five));
  CHECK_EQ(*five, 5);
  CHECK_EQ(five.value(), 5);
  CHECK_EQ(five.value_or(1), 5);
  subproc_error e{};
  e.code = SUBPROC_EINVAL;
  e.step = SUBPROC_STEP_OTHER;
  std::snprintf(e.message, sizeof e.message, "made up");
  sp::result<int> bad = sp::error(e);
  CHECK(!bad.ok() && !bad);
  CHECK_EQ(bad.value_or(7), 7);
  CHECK_EQ(bad.error().code(), SUBPROC_EINVAL);
  CHECK_EQ(std::string(bad.error().what()), std::string("made up"));
  CHECK(bad.error().path() == nullptr);
  CHECK(bad.error().result() == nullptr);
  sp::result<void> fine;
  CHECK(fine.ok());
  fine.value();
  sp::result<void> not_fine = sp::error(e);
  CHECK(!not_fine);
  sp::result<std::string> s = std::string("moved");
  std::string taken = std::move(s).value();
  CHECK_EQ(taken, std::string("moved"));
}

/* The throwing overloads exist exactly when exceptions are on. */
template <class A, class = void> struct has_throwing_run : std::false_type {};
template <class A>
struct has_throwing_run<A, std::void_t<decltype(sp::run(std::declval<A>()))>>
    : std::true_type {};
static_assert(has_throwing_run<const sp::args &>::value ==
              static_cast<bool>(SUBPROC_CPP_EXCEPTIONS));
static_assert(std::is_same_v<decltype(sp::run(std::nothrow, {"x"})),
                             sp::result<sp::completed_process>>);

CASE(value_of_error) {
  sp::result<int> bad = sp::call(std::nothrow, {"/nonexistent/x"});
  CHECK_ERR(bad, -ENOENT);
#if SUBPROC_CPP_EXCEPTIONS
  bool thrown = false;
  try {
    (void)bad.value();
  } catch (const sp::error &) {
    thrown = true;
  }
  CHECK(thrown);
#else
  /* Without exceptions value() of an error aborts, as the standard
   * library's value() does. */
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    rlimit none{0, 0};
    setrlimit(RLIMIT_CORE, &none);
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 2);
    (void)bad.value();
    _exit(0);
  }
  int status = 0;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
#endif
}

CASE(timeout_mapping) {
  static_assert(sp::timeout().is_forever());
  static_assert(sp::forever.c_seconds() == SUBPROC_FOREVER);
  static_assert(sp::timeout(2s).c_seconds() == 2.0);
  static_assert(sp::timeout(1500ms).c_seconds() == 1.5);
  static_assert(sp::timeout(0s).c_seconds() == SUBPROC_POLL);
  static_assert(sp::timeout(-5s).c_seconds() == SUBPROC_POLL);
  static_assert(sp::timeout::poll().c_seconds() == SUBPROC_POLL);
  static_assert(sp::timeout(1ns).c_seconds() > 0);
  static_assert(!sp::timeout(1min).is_forever());
  /* A NaN duration is the C layer's SUBPROC_EINVAL, not a hang. */
  auto p = sp::popen(std::nothrow, {"true"});
  CHECK_OK(p);
  std::chrono::duration<double> nan(std::nan(""));
  CHECK_ERR(p->wait(std::nothrow, nan), SUBPROC_EINVAL);
  CHECK_EQ(p->wait(std::nothrow, sp::forever).value_or(-1), 0);
}

CASE(redirect_macros) {
  /* Usable in constant expressions in C++. */
  static_assert(SUBPROC_REDIRECT_FD(3).kind == SUBPROC_FD);
  static_assert(SUBPROC_REDIRECT_FD(3).fd == 3);
  static_assert(SUBPROC_REDIRECT_PIPE.kind == SUBPROC_PIPE);
  static_assert(SUBPROC_REDIRECT_DEVNULL.kind == SUBPROC_DEVNULL);
  static_assert(SUBPROC_REDIRECT_STDOUT.kind == SUBPROC_STDOUT);
  /* PATH, with DEVNULL for stdin (cat sees EOF at once) */
  char path[] = "/tmp/subproc-cpp-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  subproc_options o{};
  o.out = SUBPROC_REDIRECT_PATH(path);
  o.in = SUBPROC_REDIRECT_DEVNULL;
  CHECK_EQ(
      sp::call(std::nothrow, {"sh", "-c", "cat; echo to-path"}, o).value_or(-1),
      0);
  /* FILE and FD, appending to the same file */
  std::FILE *f = std::fopen(path, "a+");
  std::remove(path);
  CHECK(f != nullptr);
  o.out = SUBPROC_REDIRECT_FILE(f);
  CHECK_EQ(sp::call(std::nothrow, {"echo", "to-file"}, o).value_or(-1), 0);
  o.out = SUBPROC_REDIRECT_FD(fileno(f));
  CHECK_EQ(sp::call(std::nothrow, {"echo", "to-fd"}, o).value_or(-1), 0);
  std::rewind(f);
  char buf[64] = {0};
  std::string got;
  while (std::fgets(buf, sizeof buf, f))
    got += buf;
  std::fclose(f);
  CHECK_EQ(got, std::string("to-path\nto-file\nto-fd\n"));
  /* STDOUT, for stderr */
  subproc_options o3{};
  o3.out = SUBPROC_REDIRECT_PIPE;
  o3.err = SUBPROC_REDIRECT_STDOUT;
  auto both = sp::run(std::nothrow, {"sh", "-c", "echo a; echo b >&2"}, o3);
  CHECK_OK(both);
  CHECK_EQ(both->out(), std::string_view("a\nb\n"));
  CHECK(!both->err_captured());
}

CASE_EXC(exceptions_throw) {
#if SUBPROC_CPP_EXCEPTIONS
  try {
    sp::run({"/nonexistent/x"});
    fail(__FILE__, __LINE__, "no exception");
  } catch (const std::runtime_error &e) {
    CHECK(std::string(e.what()).find("exec '/nonexistent/x'") == 0);
  }
  subproc_options o = capture();
  o.check = 1;
  try {
    sp::run({"sh", "-c", "echo out; exit 9"}, o);
    fail(__FILE__, __LINE__, "no exception");
  } catch (const sp::error &e) {
    CHECK_EQ(e.code(), SUBPROC_ECALLED);
    CHECK_EQ(e.returncode(), 9);
    CHECK_EQ(e.result()->out(), std::string_view("out\n"));
  }
  CHECK_EQ(sp::check_output({"echo", "thrown?"}), std::string("thrown?\n"));
  CHECK_EQ(sp::call({"sh", "-c", "exit 2"}), 2);
  sp::check_call({"true"});
  sp::completed_process cp = sp::run({"sh", "-c", "exit 1"});
  bool thrown = false;
  try {
    cp.check_returncode();
  } catch (const sp::error &e) {
    thrown = e.code() == SUBPROC_ECALLED && e.returncode() == 1;
  }
  CHECK(thrown);
  subproc_options po{};
  po.in = SUBPROC_REDIRECT_PIPE;
  po.out = SUBPROC_REDIRECT_PIPE;
  sp::process p = sp::popen({"cat"}, po);
  /* Of a temporary, out() is a std::string: nothing dangles. */
  CHECK_EQ(p.communicate("in").out(), std::string("in"));
  static_assert(
      std::is_same_v<decltype(sp::completed_process().out()), std::string>);
  sp::process s = sp::popen({"sleep", "30"});
  CHECK(!s.poll().has_value());
  thrown = false;
  try {
    s.wait(10ms);
  } catch (const sp::error &e) {
    thrown = e.code() == SUBPROC_ETIMEDOUT;
  }
  CHECK(thrown);
  s.terminate();
  CHECK_EQ(s.wait(), -SIGTERM);
  s.send_signal(SIGKILL); /* reaped: a no-op */
  s.kill();
  sp::pipeline_result pr = sp::pipeline({{"echo", "p"}, {"cat"}}, capture());
  CHECK_EQ(pr.out(), std::string_view("p\n"));
  try {
    sp::popen({"true"}, capture());
    fail(__FILE__, __LINE__, "no exception");
  } catch (const sp::error &e) {
    CHECK_EQ(e.step(), SUBPROC_STEP_CAPTURE_OUTPUT);
  }
#endif
}

CASE_CXX20(designated_initializers) {
#if __cplusplus >= 202002L
/* g++ (and clang >= 18) warn under -Wextra about the fields a designated
 * initializer leaves out; they are zero, which is the point. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
  /* In declaration order: out, err, then (much later) timeout. */
  auto r = sp::run(std::nothrow, {"sh", "-c", "echo hi >&2"},
                   {.out = SUBPROC_REDIRECT_PIPE,
                    .err = SUBPROC_REDIRECT_STDOUT,
                    .timeout = 30});
#pragma GCC diagnostic pop
  CHECK_OK(r);
  CHECK_EQ(r->out(), std::string_view("hi\n"));
#endif
}

/* ---- the runner ---- */

int main(int argc, char **argv) {
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
    for (const test_case &c : cases())
      std::cout << c.name << "\n";
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--verify-list") == 0) {
    std::vector<std::string> want(argv + 2, argv + argc);
    int bad = 0;
    for (const std::string &w : want) {
      bool found = false;
      for (const test_case &c : cases())
        found = found || w == c.name;
      if (!found) {
        std::cerr << "registered to run, but not compiled in: " << w << "\n";
        bad = 1;
      }
    }
    for (const test_case &c : cases()) {
      bool found = false;
      for (const std::string &w : want)
        found = found || w == c.name;
      if (!found) {
        std::cerr << "compiled in, but not registered to run: " << c.name
                  << "\n";
        bad = 1;
      }
    }
    if (!bad)
      std::cout << cases().size() << " cases, all registered\n";
    return bad;
  }
  if (argc != 2) {
    std::cerr << "usage: " << argv[0]
              << " CASE | --list | --verify-list NAME...\n";
    return 2;
  }
  if (const char *f = std::getenv("SUBPROC_TEST_SLOWDOWN"))
    if (std::atof(f) > 0)
      slowdown = std::atof(f);
  for (const test_case &c : cases()) {
    if (c.name != std::string_view(argv[1]))
      continue;
    std::vector<int> before = open_fds();
    c.fn();
    int bad = 0;
    std::vector<int> after = open_fds();
    for (int fd : after) {
      bool was = false;
      for (int b : before)
        was = was || b == fd;
      if (!was) {
        std::cerr << c.name << ": fd " << fd << " is still open\n";
        bad = 1;
      }
    }
    if (children_left()) {
      std::cerr << c.name << ": a child is still there\n";
      bad = 1;
    }
    return bad;
  }
  std::cerr << "no case named " << argv[1] << "\n";
  return 2;
}
