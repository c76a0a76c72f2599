/*
 * bcryptprimitives.dll for Wine 8.0: just enough for Go programs.
 *
 * Since Go 1.24 the Windows runtime gets its random numbers from
 * ProcessPrng in bcryptprimitives.dll and refuses to start without it.
 * Windows 10 and later ship that DLL; Wine 8.0 does not. This stand-in
 * exports ProcessPrng and fills the buffer from RtlGenRandom
 * (SystemFunction036 in advapi32), which Wine does implement.
 *
 * Test-only: scripts/test-windows.sh builds it with mingw-w64 and copies it
 * into a throwaway Wine prefix. It never ships with the app.
 */
#include <windows.h>

/* RtlGenRandom's real export name; advapi32's import library knows it. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size)
{
    /* RtlGenRandom takes a 32-bit length; feed it in pieces. */
    while (size > 0) {
        ULONG n = size > 0x40000000 ? 0x40000000 : (ULONG)size;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        size -= n;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
