/* The C++ layer (subproc.hpp): check_output, run with options, Popen with
 * communicate, a pipeline, and errors both ways: as exceptions, and as
 * result<T> with std::nothrow (what a -fno-exceptions build uses). */
#include <iostream>
#include <string>

#include "subproc.hpp"

namespace sp = subproc_cpp;
using namespace std::chrono_literals;

int main() {
  try {
    /* output = check_output(["uname", "-s"]) */
    std::string kernel = sp::check_output({"uname", "-s"});
    std::cout << "kernel: " << kernel;

    /* run(..., capture_output=True, timeout=10): the C options struct */
    subproc_options o{};
    o.capture_output = 1;
    o.timeout = sp::timeout(10s).c_seconds();
    sp::completed_process r =
        sp::run({"sh", "-c", "echo out; echo err >&2; exit 3"}, o);
    std::cout << "exit " << r.returncode() << ", stdout: " << r.out()
              << "stderr: " << r.err();

    /* Popen(["tr", "a-z", "A-Z"], stdin=PIPE, stdout=PIPE).communicate() */
    subproc_options po{};
    po.in = SUBPROC_REDIRECT_PIPE;
    po.out = SUBPROC_REDIRECT_PIPE;
    sp::process p = sp::popen({"tr", "a-z", "A-Z"}, po);
    std::cout << "tr: " << p.communicate("shout\n", 10s).out();

    /* printf ... | grep hda */
    subproc_options cap{};
    cap.capture_output = 1;
    sp::pipeline_result pl = sp::pipeline(
        {{"printf", "sda: ok\\nhda: found\\n"}, {"grep", "hda"}}, cap);
    std::cout << "pipeline (statuses " << pl.returncode(0) << " "
              << pl.returncode(1) << "): " << pl.out();
  } catch (const sp::error &e) {
    std::cerr << "cpp_run: " << e.what() << " (" << e.errname() << ")\n";
    return 1;
  }

  /* No exceptions: wait(timeout=0.2) on a sleeper, then kill it. */
  auto s = sp::popen(std::nothrow, {"sleep", "30"});
  if (!s) {
    std::cerr << "cpp_run: " << s.error().what() << "\n";
    return 1;
  }
  auto w = s->wait(std::nothrow, 200ms);
  if (w || w.error().code() != SUBPROC_ETIMEDOUT) {
    std::cerr << "cpp_run: sleep 30 did not time out\n";
    return 1;
  }
  std::cout << w.error().what() << "\n";
  if (!s->kill(std::nothrow))
    return 1;
  std::cout << "killed: returncode " << s->wait(std::nothrow).value_or(0)
            << "\n";
  return 0;
}
