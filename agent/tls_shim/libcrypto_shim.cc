// Stand-in for "libcrypto.so" that CivetWeb dlopens: SONAME "libcrypto.so",
// depends on libcrypto.so.3, defines nothing itself. It spares the agent a
// run-time dependency on libssl-dev, the package holding the unversioned
// libcrypto.so link. See libssl_shim.cc.
extern "C" {
__attribute__((visibility("default"))) int ibpath_libcrypto_shim = 1;
}
