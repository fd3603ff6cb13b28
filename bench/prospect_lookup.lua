-- sysbench script: MariaDB alone doing the query GetProspect runs (the same 22 columns of one
-- prospect by primary key, as a prepared statement), so the service can be compared with the
-- database doing only its part. Either one record (--tenant and --id-hex, the record bench/prep.py
-- created) or, with --keys=FILE (lines "TENANT HEXID"), a random record of the file per query, as
-- the closed-loop client draws them (bench/closedloop.c).
sysbench.cmdline.options = {
  tenant = {"tenant id of the record", "bench"},
  ["id-hex"] = {"the record's id as 32 hex digits", ""},
  keys = {"file of 'TENANT HEXID' lines: a random one per query", ""},
}

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  stmt = con:prepare("SELECT id, kind, state, display_name, first_name, last_name, company_name," ..
    " vat_number, email, phone, website, street, postal_code, city, country_code, language, notes," ..
    " version, create_time, update_time, convert_time, converting_invoice" ..
    " FROM prospects WHERE tenant_id = ? AND id = UNHEX(?)")
  params = {stmt:bind_create(sysbench.sql.type.VARCHAR, 64),
            stmt:bind_create(sysbench.sql.type.VARCHAR, 32)}
  stmt:bind_param(unpack(params))
  keys = nil
  if sysbench.opt.keys ~= "" then
    keys = {}
    for line in io.lines(sysbench.opt.keys) do
      local t, h = line:match("^(%S+)%s+(%x+)$")
      if t then keys[#keys + 1] = {t, h} end
    end
  end
  params[1]:set(sysbench.opt.tenant)
  params[2]:set(sysbench.opt["id-hex"])
end

function event()
  if keys then
    local k = keys[sysbench.rand.uniform(1, #keys)]
    params[1]:set(k[1])
    params[2]:set(k[2])
  end
  local rs = stmt:execute()
  rs:free()
end

function thread_done()
  stmt:close()
  con:disconnect()
end
