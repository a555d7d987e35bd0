<#
.SYNOPSIS
  Applies the network configuration pulumi-esx put in the VM's machine.id (Windows Server 2016 and later).

.DESCRIPTION
  Reads machine.id with `vmtoolsd.exe --cmd "machine.id.get"`. Records are "mac;ip;netmask;gateway;broadcast;dns1,dns2"
  each followed by "#" (the 4-field "mac;ip;netmask;gateway" of the first release is accepted too). Each record is
  matched to an adapter by MAC (Get-NetAdapter); its IPv4 address/prefix, default route and DNS servers are set
  only when they differ (idempotent); other adapters are never touched. Windows keeps these settings itself, so
  nothing else is persisted. A malformed record is logged and its adapter left as it was (exit code 3).
  Logs to the Application event log (source "pulumi-esx-guest", registered by install.ps1) and to
  %ProgramData%\pulumi-esx\guest.log.
#>
[CmdletBinding()]
param(
  [string]$VmtoolsdPath = "$env:ProgramFiles\VMware\VMware Tools\vmtoolsd.exe",
  [string]$LogFile = "$env:ProgramData\pulumi-esx\guest.log",
  # Parse and print the records only (no changes); useful for review and testing.
  [switch]$ParseOnly
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'
$Source = 'pulumi-esx-guest'

function Write-Log([string]$Message, [string]$Level = 'Information') {
  $line = '{0:u} {1}: {2}' -f (Get-Date), $Level, $Message
  Write-Host $line
  try {
    $dir = Split-Path -Parent $LogFile
    if (-not (Test-Path $dir)) { New-Item -ItemType Directory -Path $dir -Force | Out-Null }
    Add-Content -Path $LogFile -Value $line
  } catch { }
  try {
    if ([System.Diagnostics.EventLog]::SourceExists($Source)) {
      $id = @{ Information = 1000; Warning = 2000; Error = 3000 }[$Level]
      Write-EventLog -LogName Application -Source $Source -EntryType $Level -EventId $id -Message $Message
    }
  } catch { }
}

# ---- machine.id parsing (pure: no system access) -------------------------------------------------------

function Test-Ipv4([string]$Value) {
  # Strict dotted quad: four decimal octets 0-255 without leading zeros.
  return $Value -match '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'
}

function ConvertTo-PrefixLength([string]$Netmask) {
  # Returns the prefix length of a contiguous netmask, or -1.
  if (-not (Test-Ipv4 $Netmask)) { return -1 }
  $bits = ($Netmask.Split('.') | ForEach-Object { [Convert]::ToString([int]$_, 2).PadLeft(8, '0') }) -join ''
  if ($bits -notmatch '^1*0*$') { return -1 }
  return ($bits.TrimEnd('0')).Length
}

function ConvertFrom-MachineId([string]$Value) {
  <# Returns one object per record: Index, Record, Mac (aa:bb:..), Ip, PrefixLength, Gateway, Dns (string[]),
     Error (null when valid). Empty input gives no records. #>
  $text = ($Value -replace '[\r\n]', '').Trim()
  if ($text -eq '' -or $text -eq '1' -or $text -eq 'No value found') { return @() }
  $records = @($text.Split('#'))
  if ($records.Count -gt 1 -and $records[-1].Trim() -eq '') { $records = @($records[0..($records.Count - 2)]) }
  $index = 0
  foreach ($record in $records) {
    $r = [pscustomobject]@{ Index = $index; Record = $record; Mac = $null; Ip = $null; PrefixLength = $null; Gateway = $null; Dns = @(); Error = $null }
    $index++
    $f = @($record.Split(';') | ForEach-Object { $_.Trim() })
    if ($f.Count -ne 6 -and $f.Count -ne 4) { $r.Error = "expected 6 fields (or 4 of the first release), got $($f.Count)"; $r; continue }
    if ($f[0] -notmatch '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$') { $r.Error = "mac `"$($f[0])`" is not a MAC address"; $r; continue }
    $r.Mac = $f[0].ToLowerInvariant()
    if (-not (Test-Ipv4 $f[1])) { $r.Error = "ip `"$($f[1])`" is not a dotted-quad IPv4 address"; $r; continue }
    $r.Ip = $f[1]
    $prefix = ConvertTo-PrefixLength $f[2]
    if ($prefix -lt 0) { $r.Error = "netmask `"$($f[2])`" is not a contiguous netmask"; $r; continue }
    $r.PrefixLength = $prefix
    if ($f[3] -ne '' -and -not (Test-Ipv4 $f[3])) { $r.Error = "gateway `"$($f[3])`" is not a dotted-quad IPv4 address"; $r; continue }
    if ($f[3] -ne '') { $r.Gateway = $f[3] }
    if ($f.Count -eq 6) {
      if (-not (Test-Ipv4 $f[4])) { $r.Error = "broadcast `"$($f[4])`" is not a dotted-quad IPv4 address"; $r; continue }
      $dns = @($f[5].Split(',') | ForEach-Object { $_.Trim() } | Where-Object { $_ -ne '' })
      $bad = @($dns | Where-Object { -not (Test-Ipv4 $_) })
      if ($bad.Count -gt 0) { $r.Error = "dns `"$($bad[0])`" is not a dotted-quad IPv4 address"; $r; continue }
      $r.Dns = $dns
    }
    $r
  }
}

# ---- applying ------------------------------------------------------------------------------------------

function Read-MachineId {
  if (-not (Test-Path $VmtoolsdPath)) { return $null }
  $out = & $VmtoolsdPath --cmd 'machine.id.get' 2>$null
  if ($LASTEXITCODE -ne 0) { return $null }
  return ($out -join '')
}

function Set-AdapterFromRecord($Adapter, $Rec) {
  # Returns the number of changes made.
  $changes = 0
  $ifIndex = $Adapter.ifIndex
  $name = $Adapter.Name
  $metric = 100 + $Rec.Index

  $ipif = Get-NetIPInterface -InterfaceIndex $ifIndex -AddressFamily IPv4
  if ($ipif.Dhcp -ne 'Disabled') {
    Set-NetIPInterface -InterfaceIndex $ifIndex -AddressFamily IPv4 -Dhcp Disabled
    Write-Log "${name}: DHCP disabled"; $changes++
  }

  $current = @(Get-NetIPAddress -InterfaceIndex $ifIndex -AddressFamily IPv4 -ErrorAction SilentlyContinue)
  $have = $current | Where-Object { $_.IPAddress -eq $Rec.Ip -and $_.PrefixLength -eq $Rec.PrefixLength }
  foreach ($a in $current) {
    if ($a.IPAddress -eq $Rec.Ip -and $a.PrefixLength -eq $Rec.PrefixLength) { continue }
    Remove-NetIPAddress -InterfaceIndex $ifIndex -IPAddress $a.IPAddress -Confirm:$false
    Write-Log "${name}: removed address $($a.IPAddress)/$($a.PrefixLength)"; $changes++
  }
  if (-not $have) {
    New-NetIPAddress -InterfaceIndex $ifIndex -AddressFamily IPv4 -IPAddress $Rec.Ip -PrefixLength $Rec.PrefixLength | Out-Null
    Write-Log "${name}: added address $($Rec.Ip)/$($Rec.PrefixLength)"; $changes++
  }

  $routes = @(Get-NetRoute -InterfaceIndex $ifIndex -DestinationPrefix '0.0.0.0/0' -ErrorAction SilentlyContinue)
  $wanted = if ($Rec.Gateway) { "$($Rec.Gateway) $metric" } else { '' }
  $actual = ($routes | ForEach-Object { "$($_.NextHop) $($_.RouteMetric)" }) -join ','
  if ($actual -ne $wanted) {
    foreach ($r in $routes) {
      Remove-NetRoute -InterfaceIndex $ifIndex -DestinationPrefix '0.0.0.0/0' -NextHop $r.NextHop -Confirm:$false
      Write-Log "${name}: removed default route via $($r.NextHop)"; $changes++
    }
    if ($Rec.Gateway) {
      New-NetRoute -InterfaceIndex $ifIndex -DestinationPrefix '0.0.0.0/0' -NextHop $Rec.Gateway -RouteMetric $metric | Out-Null
      Write-Log "${name}: default route via $($Rec.Gateway) metric $metric"; $changes++
    }
  }

  if ($Rec.Dns.Count -gt 0) {
    $dnsNow = @((Get-DnsClientServerAddress -InterfaceIndex $ifIndex -AddressFamily IPv4).ServerAddresses)
    if (($dnsNow -join ',') -ne ($Rec.Dns -join ',')) {
      Set-DnsClientServerAddress -InterfaceIndex $ifIndex -ServerAddresses $Rec.Dns
      Write-Log "${name}: DNS $($Rec.Dns -join ', ')"; $changes++
    }
  }
  return $changes
}

function Invoke-Main {
  $value = Read-MachineId
  if (-not $value) { return 0 }  # no VMware Tools or machine.id not set: nothing to do
  $records = @(ConvertFrom-MachineId $value)
  if ($ParseOnly) { $records | Format-List | Out-String | Write-Host; return 0 }
  $skipped = 0; $changes = 0; $applied = 0
  $adapters = @(Get-NetAdapter -ErrorAction SilentlyContinue)
  foreach ($rec in $records) {
    if ($rec.Error) {
      Write-Log "record $($rec.Index) skipped (its adapter is left as it was): $($rec.Error): $($rec.Record)" 'Warning'
      $skipped++; continue
    }
    $adapter = $adapters | Where-Object { ($_.MacAddress -replace '-', ':').ToLowerInvariant() -eq $rec.Mac } | Select-Object -First 1
    if (-not $adapter) { Write-Log "record $($rec.Index) skipped: no adapter has MAC $($rec.Mac)" 'Warning'; $skipped++; continue }
    try {
      $changes += Set-AdapterFromRecord $adapter $rec
      $applied++
    } catch {
      Write-Log "record $($rec.Index) ($($adapter.Name)): $($_.Exception.Message)" 'Error'; $skipped++
    }
  }
  if ($changes -eq 0) { Write-Log "nothing to do: $applied adapter(s) already as machine.id says" }
  else { Write-Log "done: $applied adapter(s) configured, $changes change(s)" }
  if ($skipped -gt 0) { return 3 }
  return 0
}

if ($MyInvocation.InvocationName -ne '.') { exit (Invoke-Main) }
