// main() of the tests that load the forwarder or make links: they run in a network
// namespace of their own, so nothing they attach or create reaches the host's.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <sched.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET) (the test needs root)");
    return 1;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
