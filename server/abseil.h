/* Abseil, as Debian builds it. Debian 12's libabsl is built without NDEBUG, so its Mutex keeps a
 * deadlock-detection graph: every lock that gRPC takes records its lock order in a global graph
 * (synchronization_internal::GraphCycles), work meant for debug builds that upstream gRPC releases
 * do not do. It cost about 2 % of the server's CPU per GetProspect (perf: GraphCycles::GetId,
 * UpdateStackTrace, InsertEdge). */
#ifndef PS_ABSEIL_H
#define PS_ABSEIL_H

/* Turns Abseil's mutex deadlock detection off, as in a release build of Abseil, when the library
 * that gRPC loaded exports the setting (looked up at run time; nothing happens when it does not).
 * 1 when it was turned off, 0 when the setting was not found. Call once, early in main. */
int ps_abseil_release_mode(void);

#endif
