// Replays a DRAMsim3-format trace (0xADDR READ|WRITE cycle) through DRAMsim3's MemorySystem as fast
// as it accepts requests, in order (a request waits for the ones before it; several may enter in one
// cycle; the trace's cycle column is ignored), and prints the cycle at which the last read returned. Written for AttnSim's golden data
// (Scripts/dramsim3_golden.sh); links against DRAMsim3's own objects, built from its source.
// usage: dramsim3_driver CONFIG.ini TRACE OUTDIR
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>
#include "dramsim3.h"

int main(int argc, char** argv) {
    if (argc != 4) { std::cerr << "usage: dramsim3_driver CONFIG.ini TRACE OUTDIR\n"; return 2; }
    std::ifstream in(argv[2]);
    std::vector<uint64_t> addr; std::vector<bool> write; std::vector<uint64_t> at;
    std::string a, op; uint64_t c;
    while (in >> a >> op >> c) { addr.push_back(std::stoull(a, nullptr, 16)); write.push_back(op == "WRITE"); at.push_back(c); }
    uint64_t reads = 0, returned = 0, last = 0, clk = 0;
    for (bool w : write) if (!w) reads++;
    auto* mem = dramsim3::GetMemorySystem(argv[1], argv[3],
        [&](uint64_t) { returned++; last = clk; }, [&](uint64_t) {});
    size_t next = 0;
    const uint64_t limit = 2000000000ull;
    while ((next < addr.size() || returned < reads) && clk < limit) {
        while (next < addr.size() && mem->WillAcceptTransaction(addr[next], write[next])) {
            mem->AddTransaction(addr[next], write[next]);
            next++;
        }
        mem->ClockTick();
        clk++;
    }
    mem->PrintStats();
    std::printf("requests %zu reads %llu last_read_cycle %llu\n", addr.size(), (unsigned long long)reads, (unsigned long long)(last + 1));
    delete mem;
    return 0;
}
