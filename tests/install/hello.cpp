// Built against an installed copy of subproc by tests/install/run.sh: the
// C++ header is installed next to subproc.h and works from find_package
// and pkg-config alike.
#include <iostream>
#include <subproc.hpp>

int main() {
  namespace sp = subproc_cpp;
  auto out = sp::check_output(std::nothrow, {"echo", "installed"});
  if (!out) {
    std::cerr << "hello_cpp: " << out.error().what() << "\n";
    return 1;
  }
  std::cout << subproc_version() << " C++ " << *out;
  return *out == "installed\n" ? 0 : 1;
}
