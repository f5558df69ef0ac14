/* eicar.yar - the EICAR anti-malware test string: a harmless self-test that the
 * whole path (capture, reassembly, YARA, alert) works. */
rule OTS_EICAR_Test_File : selftest
{
    meta:
        description = "EICAR anti-malware test file seen on the wire (self-test, harmless)"
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
        source = "EICAR: the 68-byte standard test string published by EICAR"
        severity = "low"
        tc = "TC.MAL.SIG"
    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        $eicar
}
