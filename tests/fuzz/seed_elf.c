/* Compiled by scripts/fuzz.sh into the ELF and ar seeds of fuzz_elf (two tiny relocatable objects). */
#ifndef SECOND
static int helper(int x) { return x * 3 + 1; }
int first_function(int x) { return helper(x) ^ 0x5a; }
int table[4] = {1, 2, 3, 4};
#else
long second_function(long a, long b) { return a < b ? b - a : a - b; }
const char message[] = "seed";
#endif
